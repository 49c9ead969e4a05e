"""`create_app`: the Starlette application `rb serve` runs under uvicorn."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.server import control_routes, definitions_routes, health, rest, waits, web
from rb.server.auth import Authenticator, TokenAuth
from rb.server.config import ServerConfig
from rb.server.database import ServerStore
from rb.server.executions import ExecutionService
from rb.server.graphql import graphql_app
from rb.server.guard import RequestGuard
from rb.server.logs import limit_noisy_logs
from rb.server.metrics import CONTENT_TYPE, Metrics
from rb.server.permissions import permitted
from rb.server.state import Server, server_of
from rb.server.sweep import sweeping
from rb.server.web.sessions import Sessions
from rb.store.database import StoreError

log = logging.getLogger("rb.server")


@permitted("view")
async def metrics(request: Request) -> Response:
    """GET /metrics: Prometheus text format (in a thread: the queue's metrics query the store)."""
    body = await run_in_threadpool(server_of(request).metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE)


def _warn_without_tokens(config: ServerConfig, store: ServerStore) -> None:
    """Say so at start when no request could be authenticated."""
    from rb.store.tokens import any_active

    try:
        if config.token or any_active(store.ready()):
            return
    except StoreError:
        return  # the store's own warning was given
    log.warning(
        "no API token: RB_API_TOKEN is not set and the store has no active token, so every "
        "request but /health/* is refused (401); make one with "
        "rb tokens create --name NAME --role operator"
    )


def create_app(config: ServerConfig) -> Starlette:
    """The application: REST under /api, /graphql, /health/*, /metrics, and the
    web view at / (rb.server.web: a session cookie made from a token).

    Every request but /health/* needs a bearer token (rb/server/auth.py);
    each route checks the token's role (rb/server/permissions.py).

    The store is opened here (a bad URL fails at once) and reached on start;
    a database that is down then only makes /health/ready answer 503 until
    it is back. Running executions are waited for on shutdown.
    """
    from rb.server.errors import exception_handlers

    store = ServerStore(config.db, workers=config.max_concurrent)
    metrics_ = Metrics()
    if not store.store.is_sqlite:  # the queue lives in PostgreSQL stores only
        from rb.server.queue_metrics import QueueCollector

        metrics_.add_collector(QueueCollector(store.ready))
    auth = Authenticator(store, config.token, config.token_cache_seconds)
    server = Server(config, store, metrics_, ExecutionService(config, store, metrics_), auth)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        limit_noisy_logs()  # here: uvicorn has configured its loggers by now
        loop = asyncio.get_running_loop()
        # Load and validate the runbooks now, not in the first request.
        await loop.run_in_executor(None, server.executions.catalog.entries)
        try:
            await asyncio.wait_for(
                loop.run_in_executor(None, store.ready), health.READY_TIMEOUT_SECONDS
            )
        except (StoreError, TimeoutError) as exc:
            log.warning(
                "store %s not reachable (%s); /health/ready answers 503 until it is",
                store.shown,
                exc or "no answer",
            )
        else:
            await loop.run_in_executor(None, _warn_without_tokens, config, store)
        try:
            async with sweeping(server):  # parked runs past their deadline (rb.server.sweep)
                yield
        finally:
            server.executions.close()
            store.close()

    graphql = graphql_app(explorer=config.graphiql)
    routes = [
        Route("/health/live", health.live, methods=["GET"]),
        Route("/health/ready", health.ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/graphql", graphql.handle_request, methods=["GET", "POST"]),
        *rest.routes(),
        *control_routes.routes(),
        *waits.routes(),
        *definitions_routes.routes(),
        *web.routes(),  # the web view at / (rb.server.web)
    ]
    # The guard first: a forged browser request is refused before anything else.
    middleware = [
        Middleware(RequestGuard, bound_host=config.host, allowed_hosts=config.allowed_hosts),
        Middleware(TokenAuth, authenticator=auth),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=exception_handlers(config.secrets),
        lifespan=lifespan,
    )
    app.state.rb = server
    app.state.web_sessions = Sessions()
    return app
