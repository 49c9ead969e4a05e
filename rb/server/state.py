"""The parts of a running server, as its request handlers reach them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from rb.server.auth import Authenticator
from rb.server.config import ServerConfig
from rb.server.database import ServerStore
from rb.server.executions import ExecutionService
from rb.server.metrics import Metrics


@dataclass(frozen=True)
class Server:
    config: ServerConfig
    store: ServerStore
    metrics: Metrics
    executions: ExecutionService
    auth: Authenticator  # bearer tokens to identities (rb/server/auth.py)


def server_of(connection: HTTPConnection) -> Server:
    """The server a request came to (set up by `create_app`)."""
    server = connection.app.state.rb
    assert isinstance(server, Server)
    return server
