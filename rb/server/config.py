"""What `rb serve` serves, and how: one immutable value the app is built from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080  # where the seed's k6 script sends its requests
DEFAULT_MAX_CONCURRENT = 8
DEFAULT_ACTOR = "api"
DEFAULT_TOKEN_CACHE_SECONDS = 5.0
MIN_TOKEN_LENGTH = 32  # what secrets.token_urlsafe(32) gives is 43
# A client has this long to send a request's headers (from connecting, or from
# the end of the previous response); then the connection is closed.
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5  # idle seconds between requests (uvicorn's)
DEFAULT_MAX_CONNECTIONS = 4096  # open connections at once, idle or not
DEFAULT_SWEEP_INTERVAL = 30.0  # seconds between deadline sweeps (rb.server.sweep); 0: off


@dataclass(frozen=True)
class ServerConfig:
    """Everything `create_app` needs; `rb serve` builds it from its options.

    `project` is the folder fixtures must lie under (request paths are
    relative to it); `runbooks` is the folder searched for runbook ids.
    `secrets` are what live runs may read (`RB_SECRET_<NAME>`, a secrets
    file); they are masked wherever they could surface.
    """

    project: Path
    runbooks: Path
    db: str
    token: str | None = field(default=None, repr=False)  # RB_API_TOKEN: identity api-token, admin
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    # The address bound, and other names the server may be reached by (the Host
    # header is checked against them: DNS rebinding). "*" allows any.
    host: str = DEFAULT_HOST
    allowed_hosts: tuple[str, ...] = ()
    graphiql: bool = False  # the explorer loads its scripts from a CDN
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # Finished executions whose full event history stays in memory for late
    # stream readers; older ones are streamed from their record.
    retained_streams: int = 64
    # How long a store token, once looked up, is believed without asking the
    # store again (rb/server/auth.py): a revocation elsewhere waits this long.
    token_cache_seconds: float = DEFAULT_TOKEN_CACHE_SECONDS

    sweep_interval: float = DEFAULT_SWEEP_INTERVAL
    # Queue mode (PostgreSQL): executions go to this procrastinate queue and
    # `rb worker` processes run them; None runs them in the server's pool.
    queue: str | None = None
