"""Inserting many rows of one table straight through the database driver.

The recorder writes a row per finished step and per exchange while the run
goes on, on a thread that shares the interpreter lock with it. SQLAlchemy's
per-row work costs more than a no-op step itself, so the hot inserts skip it:

- SQLite: one INSERT with a VALUES group per row. The driver lets go of the
  lock once per statement, not once per row, and each time it does, the
  run's thread pays a switch to get it back.
- PostgreSQL (psycopg 3): COPY ... FROM STDIN for many rows, with JSON and
  times already text; the same multi-row INSERT as SQLite for a few.
- Anything else: the driver's executemany.

Values are converted as SQLAlchemy would convert them (the column types' own
bind processors; for COPY, JSON as `json.dumps` text and times as ISO 8601),
so rows read back through the tables exactly as if SQLAlchemy had written them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import JSON, DateTime, Table
from sqlalchemy.engine import Connection, Dialect

from rb.store import json_text

_PYFORMAT = re.compile(r"%\((\w+)\)s")
# Rows per multi-row INSERT: powers of two up to this (well under SQLite's
# 32,766 bound parameters for the widest table). A statement of a new length
# is parsed anew, which costs more than inserting its rows; with a few fixed
# lengths each is parsed once and then found in the driver's statement cache.
_ROWS_PER_STATEMENT = 512
# COPY costs two more round trips than an INSERT: worth it for many rows only
# (a run's end, a long run's backlog), not for the few of a short run.
_COPY_FROM = 32
_CACHE: dict[tuple[str, str, str], BulkInsert] = {}


def bulk_insert(table: Table, dialect: Dialect) -> BulkInsert:
    """The compiled insert for `table` on `dialect` (compiled once per process)."""
    key = (table.name, dialect.name, dialect.driver)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = BulkInsert(table, dialect)
    return found


class BulkInsert:
    """One table's INSERT for one dialect; `run` sends many rows at once."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.columns = tuple(c.name for c in table.columns if not _generated(c))
        by_name = {c.name: c for c in table.columns}
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
        self._statements: dict[int, str] = {}
        self._multi_values = dialect.name == "sqlite" or self._copy
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
        except KeyError:  # a column left out is NULL
            return [row.get(self.columns[i]) for i in self._order]

    def run(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` (from `rows`) in the connection's open transaction."""
        if not rows:
            return
        if self._copy and len(rows) >= _COPY_FROM:
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor, cursor.copy(self._copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        if not self._multi_values:
            conn.exec_driver_sql(self._head + self._group, list(rows))
            return
        start = 0
        while start < len(rows):
            size = min(_ROWS_PER_STATEMENT, 1 << (len(rows) - start).bit_length() - 1)
            chunk = rows[start : start + size]
            conn.exec_driver_sql(self._statement(size), tuple(chain.from_iterable(chunk)))
            start += size

    def _statement(self, rows: int) -> str:
        """The INSERT of `rows` rows (one text per length, made once)."""
        sql = self._statements.get(rows)
        if sql is None:
            sql = self._statements[rows] = self._head + ", ".join([self._group] * rows)
        return sql


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
