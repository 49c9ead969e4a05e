"""The live world: real HTTP, real databases, real processes, real time.

Heavy libraries (httpx, SQLAlchemy) are imported here, on first use, so
commands that never run a step never pay for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, TypeVar

from rb.browser import Browser
from rb.limits import MAX_DEPTH, too_deep
from rb.world.base import (
    HttpRequest,
    HttpResponse,
    Notification,
    Screenshot,
    ScreenshotRequest,
    ShellRequest,
    ShellResult,
    SqlRequest,
    SqlResult,
    WorldError,
    run_on,
)
from rb.world.child_env import child_environment
from rb.world.clock import ClockAndIds
from rb.world.inbox import Inbox
from rb.world.processes import Command, Warden

T = TypeVar("T")
DEFAULT_HTTP_TIMEOUT = 60.0


class LiveWorld(ClockAndIds):
    """A World that does the real thing. `http_transport` is the httpx seam."""

    name = "live"

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        facts: Mapping[str, Any] | None = None,
        http_transport: Any = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.inbox = inbox  # the store's, set by whoever records the run
        self.secrets = dict(secrets or {})
        self.facts = dict(facts or {})
        self._transport = http_transport
        self._client: Any = None
        self._engines: dict[str, Any] = {}
        self._engines_lock = threading.Lock()
        super().__init__(None, None)
        self._browser = Browser()
        self._warden = Warden()

    def stub(self, step_id: str) -> Mapping[str, Any] | None:
        return None

    async def notify(self, notification: Notification) -> bool:
        """Sent through apprise (rb/world/notifier.py), in a thread: it blocks."""
        from rb.world.notifier import send

        await asyncio.to_thread(send, notification)
        return True

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return run_on(None, main)

    # HTTP --------------------------------------------------------------------
    async def http(self, request: HttpRequest, *, step_id: str) -> HttpResponse:
        import httpx

        if self._client is None:
            # httpx logs every request's URL at INFO, and a URL may hold a
            # secret (`?key=${secrets.K}`): under `rb serve` it reached the log.
            logging.getLogger("httpx").setLevel(logging.WARNING)
            self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=True)
        kwargs: dict[str, Any] = {
            "headers": dict(request.headers),
            "timeout": request.timeout_seconds or DEFAULT_HTTP_TIMEOUT,
        }
        if request.has_json:
            kwargs["json"] = request.json
        elif request.body is not None:
            kwargs["content"] = request.body.encode()
        shown = f"{request.method} {request.url}"
        try:
            url = httpx.URL(request.url)
            if request.params:  # merged: httpx's params= would drop the URL's own query
                url = url.copy_merge_params(dict(request.params))
            response = await self._client.request(request.method, url, **kwargs)
        except httpx.TimeoutException:
            raise WorldError(f"{shown}: timed out", kind="timeout") from None
        except httpx.ConnectError as exc:
            raise WorldError(f"{shown}: cannot connect ({exc})", kind="connection") from None
        except httpx.InvalidURL as exc:
            raise WorldError(f"{shown}: not a valid URL ({exc})", retryable=False) from None
        except httpx.HTTPError as exc:  # protocol errors, resets: often transient
            raise WorldError(f"{shown}: {type(exc).__name__}: {exc}", retryable=True) from None
        body: Any = response.text
        if "json" in response.headers.get("content-type", ""):
            with contextlib.suppress(ValueError):  # declared JSON but is not: keep the text
                body = _json_body(response, shown)
        return HttpResponse(response.status_code, dict(response.headers), body)

    # SQL ---------------------------------------------------------------------
    async def sql(self, request: SqlRequest, *, step_id: str) -> SqlResult:
        # SQLAlchemy's sync API in a worker thread keeps any driver usable.
        return await asyncio.to_thread(self._sql, request)

    def _engine(self, url: str) -> Any:
        import sqlalchemy

        with self._engines_lock:
            if url not in self._engines:
                try:
                    self._engines[url] = sqlalchemy.create_engine(driver_url(url))
                except Exception as exc:  # bad URL or missing driver
                    raise WorldError(f"cannot use database {safe_url(url)}: {exc}") from None
            return self._engines[url]

    def _sql(self, request: SqlRequest) -> SqlResult:
        import sqlalchemy

        engine = self._engine(request.database_url)
        where = safe_url(request.database_url)
        try:
            conn = engine.connect()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise WorldError(
                f"cannot reach database {where}: {_first_line(exc)}", kind="connection"
            ) from None
        try:
            with conn:
                if request.read_only:
                    return _read_only(conn, request)
                with conn.begin():
                    result = conn.execute(sqlalchemy.text(request.query), dict(request.params))
                    if not result.returns_rows:
                        return SqlResult((), (), max(result.rowcount, 0))
                    return _rows(result, request.max_rows)
        except sqlalchemy.exc.DBAPIError as exc:
            if request.read_only and _refused_write(exc):
                raise WorldError(
                    f"the database refused it as a write ({_first_line(exc)})",
                    kind="refused_write",
                ) from None
            if exc.connection_invalidated:
                raise WorldError(
                    f"lost the connection to {where}: {_first_line(exc)}", kind="connection"
                ) from None
            raise WorldError(f"SQL error: {_first_line(exc)}", retryable=_transient(exc)) from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise WorldError(f"SQL error: {_first_line(exc)}") from None

    # Shell -------------------------------------------------------------------
    async def shell(self, request: ShellRequest, *, step_id: str) -> ShellResult:
        try:
            command = Command(
                self._warden,
                (request.command, *request.args),
                env={**child_environment(self.env), **request.env},
                cwd=request.cwd,
                stdin=(request.stdin or "").encode(),
            )
        except FileNotFoundError:
            raise WorldError(f"command not found: {request.command}", kind="error") from None
        except PermissionError:
            raise WorldError(f"command not executable: {request.command}") from None
        except OSError as exc:
            raise WorldError(f"cannot run {request.command}: {exc.strerror}") from None
        try:
            out, err = await command.output()
        finally:
            # Timeout or abort: the command and what it started must not
            # outlive the step.
            await command.end()
        code = command.process.returncode
        return ShellResult(code, out.decode(errors="replace"), err.decode(errors="replace"))

    # Screenshots ---------------------------------------------------------------
    async def screenshot(self, request: ScreenshotRequest, *, step_id: str) -> Screenshot:
        return await self._browser.shoot(request)

    async def aclose(self) -> None:
        await self._warden.aclose()  # first: commands a cancelled run left running
        await self._browser.close()
        if self._client is not None:
            await self._client.aclose()
        for engine in self._engines.values():
            engine.dispose()


def driver_url(url: str) -> str:
    """`postgresql://` uses psycopg 3, the driver rb installs."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def safe_url(url: str) -> str:
    """The URL with any password replaced by ***.

    By hand, as SQLAlchemy's URL shows it: a command that shows a store's
    name should not import SQLAlchemy for it.
    """
    found = _CREDENTIALS.match(url)
    if found is None:
        return url
    return f"{found['head']}{found['user']}:***@{found['rest']}"


# scheme://user:password@rest (SQLAlchemy's own pattern: no '@' in the password).
_CREDENTIALS = re.compile(
    r"(?P<head>[\w+.-]+://)(?P<user>[^:/@]*):(?P<password>[^@]*)@(?P<rest>.*)", re.S
)


# SQLSTATEs worth another attempt: serialization failure, deadlock, lock timeout.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def _transient(exc: Any) -> bool:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return sqlstate in _TRANSIENT_SQLSTATES


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


def _rows(result: Any, max_rows: int) -> SqlResult:
    columns = tuple(result.keys())
    rows = tuple(
        {c: _plain(v) for c, v in zip(columns, row, strict=True)}
        for row in result.fetchmany(max_rows)
    )
    return SqlResult(columns, rows, len(rows))


# What the database answers when a read-only transaction is asked to write.
_REFUSED_WRITE_SQLSTATE = "25006"  # PostgreSQL: read_only_sql_transaction
_SQLITE_READONLY = "attempt to write a readonly database"


def _refused_write(exc: Any) -> bool:
    return getattr(
        exc.orig, "sqlstate", None
    ) == _REFUSED_WRITE_SQLSTATE or _SQLITE_READONLY in str(exc.orig or exc)


def _read_only(conn: Any, request: SqlRequest) -> SqlResult:
    """The query's rows from a read-only transaction that is always rolled back.

    Whether a query only reads is the database's word, not its first word
    (`WITH d AS (DELETE ...) SELECT ...`, `SELECT nextval(...)`): PostgreSQL
    runs it under `SET TRANSACTION READ ONLY`, SQLite under `PRAGMA
    query_only` (reset afterwards: the connection goes back to the pool).
    """
    import sqlalchemy

    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise WorldError(f"cannot hold a {dialect} database to read-only", kind="refused_write")
    if dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
        conn.commit()  # ends the statement's own autobegun transaction
    try:
        with conn.begin() as transaction:
            if dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                result = conn.execute(sqlalchemy.text(request.query), dict(request.params))
                if not result.returns_rows:
                    raise WorldError("returns no rows (not a read)", kind="refused_write")
                return _rows(result, request.max_rows)
            finally:
                transaction.rollback()
    finally:
        if dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = OFF")
            conn.commit()


def _plain(value: Any) -> Any:
    """Database values as JSON-friendly data."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    try:
        from decimal import Decimal

        if isinstance(value, Decimal):
            return float(value)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def _json_body(response: Any, shown: str) -> Any:
    """The response's JSON, refused past `MAX_DEPTH` levels (rb reads bodies
    recursively: outputs, masking, the store), not a crash."""
    try:
        body = response.json()
    except RecursionError:
        body = None
        deep = True
    else:
        deep = too_deep(body)
    if deep:
        raise WorldError(
            f"{shown}: the JSON response nests more than {MAX_DEPTH} levels deep; "
            "rb does not read bodies that deep",
            retryable=False,
        )
    return body
