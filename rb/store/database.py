"""Opening a store: which database, reaching it, migrating it.

The default is SQLite in `.rb/rb.db` under the current project folder;
`--db URL` or `RB_DATABASE_URL` selects another (PostgreSQL via psycopg 3).
Every command that writes migrates an empty or older database first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rb.errors import RbError
from rb.world.live import driver_url, safe_url

DEFAULT_URL = "sqlite:///.rb/rb.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. A store already there skips Alembic (and its import);
# tests/test_store.py checks this matches the migrations folder.
SCHEMA_REVISION = "0003"


class StoreError(RbError):
    """The store cannot be reached or used; the message names it, without a password."""


def resolve_url(given: str | None = None) -> str:
    """`--db`, else RB_DATABASE_URL, else the embedded SQLite file."""
    return given or os.environ.get("RB_DATABASE_URL") or DEFAULT_URL


class Store:
    """A connection pool to one store database.

    `pool_size` sizes the pool for a long-lived process that records many
    runs at once (`rb serve`), whose connections are checked before use;
    commands keep SQLAlchemy's default.
    """

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        import sqlalchemy

        self.url = url
        self.shown = safe_url(url)
        full = driver_url(url)
        if full.startswith("sqlite:///") and not full.startswith("sqlite:////:memory:"):
            path = Path(full.removeprefix("sqlite:///").split("?", 1)[0])
            if str(path) not in ("", ":memory:"):
                _folder_for(path)
        from rb.store import json_text

        options: dict[str, Any] = {"json_serializer": json_text.dumps}
        if pool_size is not None and ":memory:" not in full:
            options.update(pool_size=pool_size, max_overflow=pool_size)
            # A long-lived process's connections can outlive a database
            # restart; a command's are fresh, and a ping is a round trip.
            options.update(pool_pre_ping=not full.startswith("sqlite"))
        try:
            self.engine = sqlalchemy.create_engine(full, **options)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot use database {self.shown}: {exc}") from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Whether this process has marked the runs of dead processes interrupted.
        self.reaped = False
        if self.is_sqlite:
            sqlalchemy.event.listen(self.engine, "connect", _sqlite_pragmas)

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
    def _errors_named(self) -> Iterator[None]:
        import sqlalchemy

        try:
            yield
        except sqlalchemy.exc.OperationalError as exc:
            raise StoreError(f"cannot reach database {self.shown}: {_reason(exc)}") from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {self.shown}: {_reason(exc)}") from None

    def revision(self) -> str | None:
        """The migration the database is at (None when empty)."""
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
        self.engine.dispose()


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
    database = store.engine.url.database
    if not store.is_sqlite or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


# Every SQLite connection's settings (the writer process's too). WAL with
# synchronous=NORMAL: a commit survives the process being killed.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


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
