"""How the recorded tables' rows go to the database driver, derived once.

The recorder inserts rows through the driver (rb/store/bulk.py), not through
SQLAlchemy, whose import alone costs a short recorded command more than its
run (about 250 ms). What it needs from SQLAlchemy is small: each table's
compiled INSERT for the dialect (with PostgreSQL's casts), the column order
it binds, and how each column's values are converted. That is derived here
with SQLAlchemy the first time and kept in rb's on-disk cache (rb/cache.py),
keyed by the table definitions and SQLAlchemy's installed files, so a later
command reads it back without importing SQLAlchemy.

A spec is plain data: (columns, head, group, copy, order, kinds, defaults).
`kinds` names each bound column's conversion (see CONVERSIONS in bulk.py);
tests/test_store_bulk.py checks each against SQLAlchemy's own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import re
from pathlib import Path
from typing import Any

from rb.cache import cache_file, write_atomic

# The tables the recorder writes (their names as in rb/store/tables.py).
EXECUTIONS = "runbook_executions"
STEP_LOGS = "runbook_step_logs"
EXCHANGES = "runbook_exchanges"
AUDIT = "runbook_audit"  # appended by every recorded command (rb/store/audit.py)

# Bumped when the spec's layout changes.
_FORMAT = 1
_PYFORMAT = re.compile(r"%\((\w+)\)s")

Spec = tuple[
    tuple[str, ...],  # columns (all but a generated key), in table order
    str,  # "INSERT INTO t (a, b) VALUES "
    str,  # "(?, ?)" or "(%s::VARCHAR, …)"
    str | None,  # COPY … FROM STDIN, where the driver has it
    tuple[str, ...],  # the order the statement binds the columns in
    tuple[str | None, ...],  # each bound column's conversion, by name
    tuple[Any, ...],  # each column's constant default (None: none)
]


def row_spec(table: str, dialect: str, driver: str) -> Spec:
    """The spec of `table` on `dialect`/`driver`, from the cache or derived."""
    path = cache_file("rowspecs", _key(table, dialect, driver), ".marshal")
    if path is not None:
        try:
            spec: Spec = marshal.loads(path.read_bytes())
            return spec
        except (OSError, ValueError, EOFError, TypeError):
            pass
    spec = derive(table, dialect, driver)
    if path is not None:
        write_atomic(path, marshal.dumps(spec))
    return spec


def _key(table: str, dialect: str, driver: str) -> str:
    tables = Path(__file__).with_name("tables.py").read_bytes()
    found = importlib.util.find_spec("sqlalchemy")
    origin = found.origin if found is not None and found.origin else ""
    installed = os.stat(origin).st_mtime_ns if origin else 0
    digest = hashlib.sha256(tables).hexdigest()
    return f"{_FORMAT}|{table}|{dialect}|{driver}|{digest}|{origin}|{installed}"


def derive(table_name: str, dialect_name: str, driver: str) -> Spec:
    """Compile `table_name`'s INSERT with SQLAlchemy and name its conversions."""
    from sqlalchemy import JSON, Boolean, DateTime, Float

    from rb.store.tables import metadata

    table = metadata.tables[table_name]
    dialect = _dialect(dialect_name, driver)
    # Plain str: SQLAlchemy's names are a str subclass, which marshal refuses.
    columns = tuple(str(c.name) for c in table.columns if not _generated(c))
    by_name = {c.name: c for c in table.columns}
    copy = dialect_name == "postgresql" and driver == "psycopg"
    compiled = table.insert().compile(
        dialect=dialect, column_keys=list(columns), for_executemany=True
    )
    sql = compiled.string
    if dialect.paramstyle == "pyformat":
        order = tuple(str(name) for name in _PYFORMAT.findall(sql))
        sql = _PYFORMAT.sub("%s", sql)
    else:
        order = tuple(str(name) for name in compiled.positiontup or ())
    head, sep, group = sql.partition(" VALUES ")
    if not sep or sorted(order) != sorted(columns):  # pragma: no cover - a bug
        raise AssertionError(f"cannot bind {table_name} positionally: {sql}")
    if copy and order != columns:  # pragma: no cover - a bug
        raise AssertionError(f"COPY and INSERT order differ for {table_name}")
    kinds: list[str | None] = []
    for name in order:
        kind = by_name[name].type
        processor = kind.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(kind, JSON):
            kinds.append("json")  # as text: COPY takes it, and the INSERT casts it
        elif isinstance(kind, DateTime):
            # COPY takes ISO 8601 text (psycopg's own formatting costs four
            # times as much); SQLite stores SQLAlchemy's text form.
            kinds.append("iso" if copy else "sqlite_time" if processor else None)
        elif isinstance(kind, Boolean):
            kinds.append(None)  # both drivers take a bool (SQLite's processor makes it 1 or 0)
        elif isinstance(kind, Float) and processor is not None and not copy:
            kinds.append("float")
        elif processor is None or copy:
            kinds.append(None)
        else:  # pragma: no cover - a column type the recorder does not write yet
            raise AssertionError(f"no conversion for {table_name}.{name} ({kind})")
    defaults = tuple(_scalar_default(by_name[name]) for name in columns)
    copy_sql = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN" if copy else None
    return (columns, str(head + sep), str(group), copy_sql, order, tuple(kinds), defaults)


def _dialect(name: str, driver: str) -> Any:
    from sqlalchemy.engine import make_url

    return make_url(f"{name}+{driver}://").get_dialect()()


def _scalar_default(column: Any) -> Any:
    """A column's Python-side constant default (`Column(default=1)`), else None."""
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def _generated(column: Any) -> bool:
    """An integer primary key the database numbers itself."""
    return bool(column.primary_key and column.autoincrement is True)
