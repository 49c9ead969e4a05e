"""Opening a store: which database, reaching it, migrating it.

The default is SQLite in `.rb/rb.db` under the current project folder;
`--db URL` or `RB_DATABASE_URL` selects another (PostgreSQL via psycopg 3).
Every command that writes migrates an empty or older database first.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rb.errors import RbError
from rb.store.sqlite_setup import apply_pragmas
from rb.world.live import driver_url, safe_url

DEFAULT_URL = "sqlite:///.rb/rb.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. A store already there skips Alembic (and its import);
# tests/test_store.py checks this matches the migrations folder.
SCHEMA_REVISION = "0004"


class StoreError(RbError):
    """The store cannot be reached or used; the message names it, without a password."""


def resolve_url(given: str | None = None) -> str:
    """`--db`, else RB_DATABASE_URL, else the embedded SQLite file."""
    return given or os.environ.get("RB_DATABASE_URL") or DEFAULT_URL


class Store:
    """A connection pool to one store database.

    `pool_size` sizes the pool for a long-lived process that records many
    runs at once (`rb serve`), whose connections are checked before use;
    commands keep SQLAlchemy's default. A command's SQLAlchemy engine is made
    only when first used: recording a run goes through the driver (`write`),
    so a recording command never imports SQLAlchemy unless it migrates.
    """

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = url
        self.shown = safe_url(url)
        self._full = full = driver_url(url)
        scheme = full.split("://", 1)[0] if "://" in full else full
        self.dialect, _, driver = scheme.partition("+")
        self.driver = driver or _DEFAULT_DRIVERS.get(self.dialect, "")
        self.is_sqlite = self.dialect == "sqlite"
        self.sqlite_path: str | None = None
        if self.is_sqlite:
            self.sqlite_path = full.split("://", 1)[-1].removeprefix("/").split("?", 1)[0]
            if self.sqlite_path not in ("", ":memory:"):
                _folder_for(Path(self.sqlite_path))
        self._pool_size = pool_size
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        self._raw: Any = None  # the driver's own connection, while there is no engine
        self._raw_lock = threading.Lock()
        # Whether this process has marked the runs of dead processes interrupted.
        self.reaped = False
        if pool_size is not None or (self.dialect, self.driver) not in _DRIVER_PATHS:
            # A server's pool, made (and its URL checked) at once; and any other
            # database than rb's two, which is used through SQLAlchemy only.
            _ = self.engine

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine (made, and SQLAlchemy imported, on first use)."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = self._make_engine()
        return self._engine

    def _make_engine(self) -> Any:
        import sqlalchemy

        from rb.store import json_text

        full = self._full
        options: dict[str, Any] = {"json_serializer": json_text.dumps}
        if self._pool_size is not None and ":memory:" not in full:
            options.update(pool_size=self._pool_size, max_overflow=self._pool_size)
            # A long-lived process's connections can outlive a database
            # restart; a command's are fresh, and a ping is a round trip.
            options.update(pool_pre_ping=not full.startswith("sqlite"))
        try:
            engine = sqlalchemy.create_engine(full, **options)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot use database {self.shown}: {exc}") from None
        if engine.dialect.name == "sqlite":
            sqlalchemy.event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def target(self) -> str:
        """What the driver connects to: a SQLite file's path, or a libpq URL."""
        if self.is_sqlite:
            return self.sqlite_path or ""
        scheme, _, rest = self._full.partition("://")
        return f"{scheme.partition('+')[0]}://{rest}"

    @contextmanager
    def begin(self) -> Iterator[Any]:
        """A transaction; database errors become StoreError naming the store."""
        with self._errors_named(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A connection for several transactions (`conn.begin()`), errors named."""
        with self._errors_named(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[DriverWrite]:
        """A transaction for statements in the driver's own terms (rb/store/bulk.py).

        On the engine's pool once there is an engine; until then on a
        connection of the driver's own, so that recording needs no SQLAlchemy.
        """
        if self._engine is not None:
            with self.begin() as conn:
                yield DriverWrite(
                    lambda sql, rows: conn.exec_driver_sql(sql, rows),
                    lambda sql: list(conn.exec_driver_sql(sql).all()),
                )
            return
        with self._raw_lock, self._driver_errors_named():
            raw = self._raw_connection()
            if self.is_sqlite:
                raw.execute("BEGIN")
                try:
                    yield DriverWrite(raw.executemany, lambda sql: raw.execute(sql).fetchall())
                    raw.execute("COMMIT")
                except BaseException:
                    if raw.in_transaction:  # the next write begins afresh
                        raw.execute("ROLLBACK")
                    raise
            else:
                with raw.transaction(), raw.cursor() as cursor:
                    yield DriverWrite(
                        cursor.executemany, lambda sql: cursor.execute(sql).fetchall()
                    )

    def _raw_connection(self) -> Any:
        if self._raw is not None and not _lost(self._raw):
            return self._raw
        if self.is_sqlite:
            import sqlite3

            # Used under `_raw_lock` only, from whichever thread records.
            self._raw = sqlite3.connect(
                self.target(), isolation_level=None, check_same_thread=False
            )
            apply_pragmas(self._raw)
        else:
            import psycopg

            self._raw = psycopg.connect(self.target(), autocommit=True)
        return self._raw

    @contextmanager
    def _errors_named(self) -> Iterator[None]:
        import sqlalchemy

        try:
            yield
        except sqlalchemy.exc.OperationalError as exc:
            raise StoreError(f"cannot reach database {self.shown}: {_reason(exc)}") from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {self.shown}: {_reason(exc)}") from None

    @contextmanager
    def _driver_errors_named(self) -> Iterator[None]:
        """As `_errors_named`, for the driver's own exceptions."""
        error, operational = self._driver_errors()
        try:
            yield
        except operational as exc:
            raise StoreError(f"cannot reach database {self.shown}: {_reason(exc)}") from None
        except error as exc:
            raise StoreError(f"database {self.shown}: {_reason(exc)}") from None

    def _driver_errors(self) -> tuple[type[Exception], type[Exception]]:
        """The driver's base error class and its OperationalError (PEP 249)."""
        if self.is_sqlite:
            import sqlite3

            return sqlite3.Error, sqlite3.OperationalError
        import psycopg

        return psycopg.Error, psycopg.OperationalError

    def revision(self) -> str | None:
        """The migration the database is at (None when empty)."""
        if self._engine is None:
            return self._driver_revision()
        import sqlalchemy

        with self.connect() as conn:
            # One query, no catalogue lookups, and in autocommit no BEGIN or
            # ROLLBACK round trips: every recorded run starts here.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                value = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            except sqlalchemy.exc.DBAPIError:  # no such table: an empty database
                return None
            return str(value) if value else None

    def _driver_revision(self) -> str | None:
        error, _ = self._driver_errors()
        with self._raw_lock, self._driver_errors_named():
            raw = self._raw_connection()
            try:
                row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
            except error:  # no such table: an empty database
                return None
            return str(row[0]) if row and row[0] else None

    def upgrade(self) -> str:
        """Migrate to the newest schema; safe when several processes start at once."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with _migration_lock(self), self.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                import sqlalchemy

                # One migrator at a time; the others wait, then find it done.
                conn.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(7262001)"))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return self.revision() or ""

    def dispose(self) -> None:
        with self._raw_lock:
            raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()
        if self._engine is not None:
            self._engine.dispose()


@dataclass(frozen=True)
class DriverWrite:
    """Statements in a driver's paramstyle, inside `Store.write`'s transaction."""

    executemany: Callable[[str, Sequence[Sequence[Any]]], Any]
    query: Callable[[str], list[Any]]  # rows of a statement without parameters

    def execute(self, statement: str, params: Sequence[Any]) -> None:
        """One statement with its parameters."""
        self.executemany(statement, [tuple(params)])


_DEFAULT_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
# The databases `write` and `revision` reach through their driver, without SQLAlchemy.
_DRIVER_PATHS = frozenset(_DEFAULT_DRIVERS.items())


def _lost(raw: Any) -> bool:
    """Whether a driver connection is gone (a PostgreSQL restart; SQLite's never is)."""
    return bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))


def _folder_for(path: Path) -> None:
    """Make a project's `.rb` folder; any other missing folder is a mistake to report.

    A typo in `--db sqlite:////some/dir/rb.db` should not leave a new tree behind.
    """
    folder = path.parent
    if folder.is_dir():
        return
    if folder.name != ".rb":
        raise StoreError(
            f"cannot open the SQLite store {path}: the folder {folder} does not exist "
            "(create it first, or check the --db/RB_DATABASE_URL path)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {folder}: {exc.strerror}") from None


@contextmanager
def _migration_lock(store: Store) -> Iterator[None]:
    """One migrator at a time on a SQLite file, across processes: a lock file beside it.

    (PostgreSQL takes an advisory lock in the migration's own transaction.)
    """
    database = store.sqlite_path
    if not store.is_sqlite or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    apply_pragmas(cursor)
    cursor.close()


def is_integrity_error(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is a constraint the database refused.

    By name: SQLAlchemy's, sqlite3's and psycopg's all call it IntegrityError
    (PEP 249), and looking needs none of them imported.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if any(kind.__name__ == "IntegrityError" for kind in type(seen).__mro__):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


# One Store per URL in a process: its pool and SQLAlchemy's compiled-statement
# cache then serve every run (the server runs many; a replay opens it twice).
_OPEN: dict[str, Store] = {}
_OPEN_LOCK = threading.Lock()
_KEEP_OPEN = 4


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and by default migrate) the store at `url` or the default."""
    resolved = resolve_url(url)
    with _OPEN_LOCK:
        store = _OPEN.pop(resolved, None) or Store(resolved)
        _OPEN[resolved] = store  # now the most recently used
        while len(_OPEN) > _KEEP_OPEN:  # bound the idle connections held
            _OPEN.pop(next(iter(_OPEN))).dispose()
    # Checked every time: the database may have been emptied or replaced.
    if migrate:
        ensure_schema(store)
    return store


def ensure_schema(store: Store) -> None:
    """Migrate the store unless it is already at the newest revision."""
    if store.revision() != SCHEMA_REVISION:
        store.upgrade()
