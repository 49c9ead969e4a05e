"""Rows of one table as the database driver takes them, and their statements.

The recorder turns a row per finished step and per exchange into driver
values on the run's thread (SQLAlchemy's per-row work costs more than a no-op
step itself) and its writer process (rb/store/writer_process.py) inserts
them: with COPY ... FROM STDIN on PostgreSQL (psycopg 3), with the driver's
executemany of a one-row INSERT on SQLite.

Values are converted as SQLAlchemy would convert them (the column types' own
bind processors; on PostgreSQL JSON as `json.dumps` text and times as ISO
8601, which COPY and the INSERT's casts both take), so rows read back
through the tables exactly as if SQLAlchemy had written them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Table
from sqlalchemy.engine import Connection, Dialect

from rb.store import json_text

_PYFORMAT = re.compile(r"%\((\w+)\)s")
_CACHE: dict[tuple[str, str, str], BulkInsert] = {}


def bulk_insert(table: Table, dialect: Dialect) -> BulkInsert:
    """The compiled insert for `table` on `dialect` (compiled once per process)."""
    key = (table.name, dialect.name, dialect.driver)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = BulkInsert(table, dialect)
    return found


def _scalar_default(column: Any) -> Any:
    """A column's Python-side constant default (`Column(default=1)`), else None."""
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


class BulkInsert:
    """One table's INSERT for one dialect, and its rows as the driver takes them."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.columns = tuple(c.name for c in table.columns if not _generated(c))
        by_name = {c.name: c for c in table.columns}
        self._defaults = tuple(_scalar_default(by_name[name]) for name in self.columns)
        self._copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self._copy_sql = f"COPY {table.name} ({', '.join(self.columns)}) FROM STDIN"
        compiled = table.insert().compile(
            dialect=dialect, column_keys=list(self.columns), for_executemany=True
        )
        sql = compiled.string
        if dialect.paramstyle == "pyformat":
            order = _PYFORMAT.findall(sql)
            sql = _PYFORMAT.sub("%s", sql)
        else:
            order = list(compiled.positiontup or ())
        head, sep, group = sql.partition(" VALUES ")
        if not sep or sorted(order) != sorted(self.columns):  # pragma: no cover - a bug
            raise AssertionError(f"cannot bind {table.name} positionally: {sql}")
        if self._copy and order != list(self.columns):  # pragma: no cover - a bug
            raise AssertionError(f"COPY and INSERT order differ for {table.name}")
        self._head, self._group = head + sep, group
        processors: list[Callable[[Any], Any] | None]
        if self._copy:
            # JSON as text: COPY takes it as is, and the INSERT casts it (::JSONB).
            # Times as ISO 8601 text too: psycopg's own formatting costs four
            # times as much, and the server parses either.
            processors = [_copy_text(by_name[name].type) for name in order]
        else:
            processors = [
                by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
            ]
        self._order = tuple(self.columns.index(name) for name in order)
        self._in_order = self._order == tuple(range(len(self.columns)))
        self._getter = operator.itemgetter(*order)
        self._processors: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, p) for i, p in enumerate(processors) if p is not None
        )

    def rows(self, rows: Sequence[Mapping[str, Any] | tuple[Any, ...]]) -> list[list[Any]]:
        """Rows as the driver takes them: its column order, each value converted.

        A row maps column names to values, or is a tuple in `columns` order.
        Conversion goes column by column, and a value equal to the one above
        it reuses that one's conversion: consecutive rows often repeat one (a
        frozen clock's timestamps, the same inputs), and comparing is much
        cheaper than formatting or serializing.
        """
        plain = [self._plain(row) for row in rows]
        for i, process in self._processors:
            above: Any = _NOTHING
            converted: Any = None
            for values in plain:
                value = values[i]
                if value is None:
                    continue
                if value is not above and not _same(value, above):
                    above, converted = value, process(value)
                values[i] = converted
        return plain

    def _plain(self, row: Mapping[str, Any] | tuple[Any, ...]) -> list[Any]:
        if isinstance(row, tuple):
            return list(row) if self._in_order else [row[i] for i in self._order]
        try:
            return list(self._getter(row))  # in C: this runs once per recorded row
        except KeyError:  # a column left out takes its default, else NULL
            return [row.get(self.columns[i], self._defaults[i]) for i in self._order]

    def run(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` (from `rows`) on a connection of this process."""
        conn.exec_driver_sql(self._head + self._group, [tuple(row) for row in rows])

    def statements(self) -> tuple[str, str | None]:
        """The one-row INSERT, and the COPY where the driver has one."""
        return self._head + self._group, self._copy_sql if self._copy else None


def _copy_text(kind: Any) -> Callable[[Any], Any] | None:
    """How a value of column type `kind` goes into COPY's text (None: as it is)."""
    if isinstance(kind, JSON):
        return json_text.dumps
    if isinstance(kind, DateTime):
        return datetime.isoformat
    return None


def _same(value: Any, above: Any) -> bool:
    """Whether `value` converts exactly as `above` did.

    Equality alone is not enough: 1 == 1.0 == True, and two times of one
    instant in different zones are equal, yet each is written differently.
    Containers are compared only when empty (their contents could differ so).
    """
    kind = type(value)
    if kind is not type(above):
        return False
    if kind is str:
        return bool(value == above)
    if kind is datetime:
        return bool(value == above and value.tzinfo is above.tzinfo)
    if kind is dict or kind is list:
        return not value and not above
    return False


_NOTHING = object()


def _generated(column: Any) -> bool:
    """An integer primary key the database numbers itself."""
    return bool(column.primary_key and column.autoincrement is True)
