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
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rb.store import json_text
from rb.store.row_specs import Spec, derive, row_spec

_CACHE: dict[tuple[str, str, str], BulkInsert] = {}


def _sqlite_time(value: datetime) -> str:
    """A time as SQLAlchemy's SQLite DATETIME stores it (its zone dropped)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


# Each conversion a spec names (rb/store/row_specs.py), as SQLAlchemy's bind
# processor for that column would convert (tests/test_store_bulk.py).
CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "json": json_text.dumps,
    "iso": datetime.isoformat,
    "sqlite_time": _sqlite_time,
    "float": float,
}


# A float column's conversion is float(): a float goes as it is.
_UNCHANGED: dict[str, type] = {"float": float}


def bulk_insert(table: str, dialect: str, driver: str) -> BulkInsert:
    """The insert for `table` on `dialect`/`driver` (once per process, cached on disk)."""
    key = (table, dialect, driver)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = BulkInsert(row_spec(table, dialect, driver))
    return found


class BulkInsert:
    """One table's INSERT for one dialect, and its rows as the driver takes them."""

    def __init__(self, spec: Spec) -> None:
        columns, head, group, copy_sql, order, kinds, defaults = spec
        self.columns = columns
        self._defaults = defaults
        self._copy_sql = copy_sql
        self._head, self._group = head, group
        self._order = tuple(columns.index(name) for name in order)
        self._in_order = self._order == tuple(range(len(columns)))
        self._getter = operator.itemgetter(*order)
        # Each converted column, its conversion, and a type it leaves as it is.
        self._processors: tuple[tuple[int, Callable[[Any], Any], type | None], ...] = tuple(
            (i, CONVERSIONS[kind], _UNCHANGED.get(kind)) for i, kind in enumerate(kinds) if kind
        )
        # Each column's bind ("?", "%s::JSONB"), for updates of the same table.
        self._table = head.split()[2]  # "INSERT INTO <table> (…) VALUES "
        binds = group.strip("()").split(", ")
        self._binds = dict(zip(order, binds, strict=True))
        self._json = frozenset(
            name for name, kind in zip(order, kinds, strict=True) if kind == "json"
        )

    @classmethod
    def of(cls, table: Any, dialect: Any) -> BulkInsert:
        """The insert for a SQLAlchemy `table` on a SQLAlchemy `dialect` (uncached)."""
        return cls(derive(table.name, dialect.name, dialect.driver))

    def rows(self, rows: Sequence[Mapping[str, Any] | tuple[Any, ...]]) -> list[list[Any]]:
        """Rows as the driver takes them: its column order, each value converted.

        A row maps column names to values, or is a tuple in `columns` order.
        Conversion goes column by column, and a value equal to the one above
        it reuses that one's conversion: consecutive rows often repeat one (a
        frozen clock's timestamps, the same inputs), and comparing is much
        cheaper than formatting or serializing.
        """
        if self._in_order:  # the recorder's own rows: tuples in column order
            plain = [list(row) if row.__class__ is tuple else self._plain(row) for row in rows]
        else:
            plain = [self._plain(row) for row in rows]
        for i, process, unchanged in self._processors:
            above: Any = _NOTHING
            converted: Any = None
            for values in plain:
                value = values[i]
                if value is None or value.__class__ is unchanged:
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

    def run(self, conn: Any, rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` (from `rows`) on a connection of this process.

        `conn` is a SQLAlchemy connection or a `Store.write` transaction.
        """
        statement, params = self._head + self._group, [tuple(row) for row in rows]
        if hasattr(conn, "exec_driver_sql"):
            conn.exec_driver_sql(statement, params)
        else:
            conn.executemany(statement, params)

    def update(self, values: Mapping[str, Any], key: str, keyed: Any) -> tuple[str, list[Any]]:
        """An UPDATE of `values` where column `key` is `keyed`, as statement and parameters.

        Values are converted and bound as the INSERT binds them; None in a
        JSON column is JSON's null, as SQLAlchemy's update writes it.
        """
        names = list(values)
        row = self.rows([{**dict.fromkeys(self.columns), **values, key: keyed}])[0]
        converted = dict(zip((self.columns[i] for i in self._order), row, strict=True))
        for name in self._json.intersection(names):
            if converted[name] is None:
                converted[name] = json_text.dumps(None)
        sets = ", ".join(f"{name} = {self._binds[name]}" for name in names)
        statement = f"UPDATE {self._table} SET {sets} WHERE {key} = {self._binds[key]}"
        return statement, [*(converted[name] for name in names), converted[key]]

    def statements(self) -> tuple[str, str | None]:
        """The one-row INSERT, and the COPY where the driver has one."""
        return self._head + self._group, self._copy_sql


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
