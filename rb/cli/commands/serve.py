"""`rb serve`: build the server's configuration and run it under uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rb.errors import EXIT_FAILED, EXIT_OK, UsageError
from rb.server.config import DEFAULT_MAX_CONNECTIONS, DEFAULT_SWEEP_INTERVAL, MIN_TOKEN_LENGTH
from rb.service.inputs import secrets_from


def serve(
    *,
    host: str,
    port: int,
    runbooks: Path,
    db: str | None,
    token: str | None,
    secrets_file: str | None,
    max_concurrent: int,
    allowed_hosts: tuple[str, ...] = (),
    graphiql: bool = False,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
    queue: bool | None = None,
    queue_name: str = "runbooks",
    log_level: str = "info",
    access_log: bool = True,
    workers: int = 1,
) -> int:
    """Serve the project in the current folder until stopped; 0 on a clean stop."""
    import uvicorn

    from rb.server.app import create_app
    from rb.server.config import ServerConfig
    from rb.server.connections import uvicorn_options
    from rb.store.database import Store, resolve_url

    if not runbooks.is_dir():
        raise UsageError(f"no runbooks folder {runbooks}/ (give --runbooks DIR)")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {port}")
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise UsageError(
            f"RB_API_TOKEN is {len(token)} characters; it must be at least "
            f"{MIN_TOKEN_LENGTH} random ones. Make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    url = resolve_url(db)
    postgres = url.startswith(("postgresql", "postgres:"))
    if queue and not postgres:
        raise UsageError(
            "--queue needs a PostgreSQL store (the queue lives in it): give --db "
            "postgresql://... or RB_DATABASE_URL; with SQLite, executions run in this process"
        )
    config = ServerConfig(
        project=Path.cwd(),
        runbooks=runbooks,
        db=url,
        queue=queue_name if (postgres if queue is None else queue) else None,
        token=token,
        secrets=secrets_from(os.environ, secrets_file),  # read now: a bad file stops here
        max_concurrent=max_concurrent,
        host=host,
        allowed_hosts=allowed_hosts,
        graphiql=graphiql,
        max_connections=max_connections,
        sweep_interval=sweep_interval,
    )
    _raise_file_limit(max_connections)
    # The app (one process) or a store (several, each making its app): a bad URL fails here.
    app = create_app(config) if workers == 1 else None
    checked = app.state.rb.store.store if app is not None else Store(url)
    shown = checked.shown
    if app is None:
        checked.dispose()
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    log = logging.getLogger("rb.server")
    log.info(
        "serving %s/ with store %s, %s, %s",
        runbooks,
        shown,
        f"executions on queue {config.queue!r} for rb worker processes"
        if config.queue
        else f"{max_concurrent} executions at once in "
        + ("this process" if workers == 1 else f"each of {workers} processes"),
        "a bearer token required (RB_API_TOKEN is identity api-token, role admin)"
        if token
        else "a bearer token required (rb tokens list)",
    )
    options = {"log_level": log_level, "access_log": access_log, **uvicorn_options(config)}
    if app is not None:
        # One process: runs share the store's pool, the runbook cache and the event streams.
        uvicorn.run(app, host=host, port=port, **options)
        return EXIT_OK
    from rb.server.processes import bind, multiprocess_metrics, serve_forked

    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # What uvicorn logs when it binds (its processes, given the socket, do not).
    shown_host = f"[{host}]" if ":" in host else host
    log.info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown_host, sock.getsockname()[1]
    )

    def serve_one() -> None:
        # In the child: a whole server of its own on the shared socket.
        server = uvicorn.Server(uvicorn.Config(create_app(config), host=host, port=port, **options))
        server.run(sockets=[sock])

    with multiprocess_metrics():
        code = serve_forked(workers, sock, serve_one)
    return EXIT_OK if code == 0 else EXIT_FAILED


def _raise_file_limit(max_connections: int) -> None:
    """Let the process hold `max_connections` sockets and its own files: the soft
    limit is often 1,024 while the hard one allows more."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
