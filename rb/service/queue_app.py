"""The procrastinate queue that `rb worker` serves, on the store's PostgreSQL.

With a PostgreSQL store, executions can be queued as procrastinate jobs and
run by any number of `rb worker` processes (docs/scaling.md). The queue adds
no server: procrastinate's tables live in the store's database (and schema,
when the URL sets a search_path), created by `rb db upgrade`.

A job carries ids and paths, never secrets or parameters: the execution's
row (recorded as `queued` before the job is deferred) holds its inputs, and
each worker reads secrets from its own environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rb.errors import UsageError
from rb.store.queue_names import DEFAULT_QUEUE, EXECUTE_TASK, SCHEDULED_TASK

if TYPE_CHECKING:
    import procrastinate

    from rb.store.database import Store

__all__ = [
    "DEFAULT_QUEUE",
    "EXECUTE_TASK",
    "SCHEDULED_TASK",
    "apply_schema",
    "conninfo",
    "queue_app",
    "require_postgres",
]
# procrastinate's schema is applied once per database under this advisory lock,
# so that several `rb db upgrade` or workers starting at once do not race.
_SCHEMA_LOCK = 0x72625F71  # "rb_q"


def conninfo(url: str) -> str:
    """The libpq URL of a store URL (SQLAlchemy's `+psycopg` driver suffix removed)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def require_postgres(url: str, what: str) -> None:
    """UsageError unless `url` is a PostgreSQL store: the queue lives in PostgreSQL."""
    if not conninfo(url).startswith("postgresql://"):
        raise UsageError(
            f"{what} needs a PostgreSQL store (the queue lives in it): set RB_DATABASE_URL "
            "or --db to postgresql://...; the SQLite default runs executions in-process"
        )


def queue_app(url: str, *, max_size: int = 4, wait: float = 30.0) -> procrastinate.App:
    """A procrastinate App on the store at `url` (not opened: `open()` or `open_async()`).

    Producers (the server, `rb run --queue`, approvals) defer jobs by task
    name; `rb worker` registers the tasks on the app it runs. `wait`: how
    long a query waits for a connection of the pool before it fails (so
    that a worker notices soon that PostgreSQL is away).
    """
    import procrastinate

    require_postgres(url, "the queue")
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(url), min_size=1, max_size=max_size, timeout=wait
    )
    return procrastinate.App(connector=connector)


def apply_schema(store: Store) -> bool:
    """Create procrastinate's tables beside rb's if they are missing; True if created.

    Safe when several processes run it at once (an advisory lock orders them).
    """
    if store.is_sqlite:
        return False
    import procrastinate
    import sqlalchemy

    with store.begin() as conn:
        conn.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
        if conn.execute(sqlalchemy.text("SELECT to_regclass('procrastinate_jobs')")).scalar():
            return False
        # The schema is procrastinate's own SQL file, run as it ships.
        schema = procrastinate.schema.SchemaManager.get_schema()
        conn.exec_driver_sql(schema.replace("%", "%%"))
    return True
