"""`rb serve` in tests: a real uvicorn in a thread, and a small project to serve.

The listening socket is bound before the server thread starts, so a client
can connect at once: its request waits in the backlog until uvicorn accepts,
and no test waits for readiness by sleeping or polling.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from rb.server.app import create_app
from rb.server.config import ServerConfig
from rb.server.connections import uvicorn_options
from rb.store.database import Store

GREET = """\
id: srv-greet
name: Greeting
version: "1.0.0"
owner: platform-team
legal_basis: Test policy 7.1
description: Fetches a greeting.
parameters:
  base_url:
    type: string
    default: "http://greeter.test"
    description: Where the greeter listens.
  path:
    type: string
    default: /greet
    description: The greeting's path.
  times:
    type: integer
    default: 1
    minimum: 1
    maximum: 5
    description: How many greetings.
steps:
  - id: greet
    type: data_fetch
    inputs:
      source_url: "${params.base_url}${params.path}"
      query: {times: "${params.times}"}
      headers: {X-Token: "${secrets.API_TOKEN}"}
    outputs:
      said: "$"
"""

GREET_FIXTURE = """\
runbook: srv-greet
secrets: {API_TOKEN: fixture-secret-5f2a}
http:
  - request: {method: GET, url: "http://greeter.test/greet?times=1"}
    response: {status: 200, json: {message: hello}, latency_seconds: 0.25}
  - request: {method: GET, url: "http://greeter.test/greet?times=2"}
    response: {status: 200, json: {message: hello hello}}
  - request: {method: GET, url: "http://greeter.test/broken?times=1"}
    response: {status: 500, json: {error: down}}
"""

BROKEN = """\
id: srv-broken
name: Broken
version: "1.0.0"
steps:
  - id: a
    type: wait
    depends_on: [nowhere]
    inputs: {seconds: 1}
"""

FIXTURE = "fixtures/greet.yaml"
LIVE_SECRET = "live-secret-9c41"
# Every request needs a token: servers here are started with this one as
# RB_API_TOKEN (identity api-token, role admin), and clients send it.
API_TOKEN = "test-token-0123456789abcdefghijklmnopqrstuv"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


def bearer_for(
    store: Store, name: str, role: str = "approver", groups: tuple[str, ...] = ()
) -> dict[str, str]:
    """Make a token named `name` in `store`; the header that sends it."""
    from rb.store.tokens import create

    _, text = create(store, name, role, groups, created_by="tests")
    return {"Authorization": f"Bearer {text}"}


def make_project(root: Path) -> Path:
    """A project folder: runbooks/ (a good and a broken runbook) and fixtures/."""
    (root / "runbooks").mkdir(parents=True)
    (root / "fixtures").mkdir()
    (root / "runbooks" / "greet.yaml").write_text(GREET, encoding="utf-8")
    (root / "runbooks" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    (root / FIXTURE).write_text(GREET_FIXTURE, encoding="utf-8")
    return root


def config_for(project: Path, db: str | None = None, **changes: Any) -> ServerConfig:
    """The configuration `rb serve` would build in `project`, with RB_API_TOKEN set
    to API_TOKEN and no token cache (a revocation is seen at the next request)."""
    base = ServerConfig(
        project=project,
        runbooks=project / "runbooks",
        db=db or f"sqlite:///{project}/.rb/rb.db",
        token=API_TOKEN,
        secrets={"API_TOKEN": LIVE_SECRET},
        max_concurrent=4,
        token_cache_seconds=0,
    )
    return replace(base, **changes)


@dataclass
class Served:
    """A running server and a client for it."""

    url: str
    client: httpx.Client

    def execute(self, **body: Any) -> httpx.Response:
        return self.client.post("/api/runbooks/execute", json=body)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables})
        data: dict[str, Any] = response.json()
        return data


@contextlib.contextmanager
def serving(
    config: ServerConfig, *, headers: dict[str, str] | None = None, backlog: int = 128
) -> Iterator[Served]:
    """Run the app under a real uvicorn on a free 127.0.0.1 port until the block ends.

    The client sends `headers`; by default the bearer token of API_TOKEN
    (pass `headers={}` for a client without one).
    """
    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", **uvicorn_options(config)
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="rb-test-serve", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        sent = BEARER if headers is None else headers
        with httpx.Client(base_url=url, timeout=60, headers=sent) as client:
            yield Served(url, client)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream into {"id", "event", "data"} dicts (comments skipped)."""
    current: dict[str, Any] = {}
    for line in lines:
        if not line:
            if current:
                yield current
                current = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        current[name] = json.loads(value) if name == "data" else value
