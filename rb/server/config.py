"""What `rb serve` serves, and how: one immutable value the app is built from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080  # where the seed's k6 script sends its requests
DEFAULT_MAX_CONCURRENT = 8
DEFAULT_ACTOR = "api"


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
    token: str | None = field(default=None, repr=False)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    # Finished executions whose full event history stays in memory for late
    # stream readers; older ones are streamed from their record.
    retained_streams: int = 64
