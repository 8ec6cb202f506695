"""A SQLAlchemy dialect for running Great Expectations' SQL execution engine on DuckDB.

The raw checks run GX's SQL engine against DuckDB views over the day's Parquet partitions, and the
mart checks against DuckDB tables of the day's mart rows, so GX computes its metrics as DuckDB
aggregates instead of over a pandas copy of the data. GX
has no DuckDB support of its own; it talks to DuckDB through ``duckdb_engine``'s SQLAlchemy dialect,
which (0.17, the newest release) has two gaps with SQLAlchemy 2.1 that this module closes:

* **Results read after the connection is closed.** GX executes every metric query inside
  ``with engine.connect()`` and fetches the rows after the block. ``duckdb_engine``'s cursor is
  the DuckDB connection itself, so when SQLAlchemy returns the connection to its pool (with a
  rollback) the pending result is gone and GX sees zero rows ("list index out of range").
  :class:`_BufferedCursor` fetches a statement's rows when it executes. GX only runs aggregate
  queries and ``LIMIT``-ed example queries, so the buffers are small.
* **Column reflection.** SQLAlchemy 2.1's PostgreSQL column query joins ``pg_catalog.pg_collation``,
  which DuckDB does not have, so ``Inspector.get_columns`` fails and GX's
  ``expect_column_values_to_be_of_type`` has no types to compare. :meth:`Dialect.get_columns`
  reads ``information_schema.columns`` instead and maps DuckDB's type names to SQLAlchemy types.

Everything else (the dialect's SQL compilation, PostgreSQL's ``~`` regex operator, which DuckDB
implements with RE2) is ``duckdb_engine``'s. The dialect is registered as ``duckdb.influence``:
connection strings ``duckdb+influence:///<file>``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from duckdb_engine import Dialect as _DuckDBDialect
from sqlalchemy.dialects import registry

DIALECT = "duckdb.influence"
URL_SCHEME = "duckdb+influence"

# DuckDB's type names (information_schema.columns.data_type) → SQLAlchemy types. A type not listed
# reflects as NullType: an expectation of a specific type then fails and names it, as it should.
_TYPES: dict[str, sa.types.TypeEngine] = {
    "VARCHAR": sa.VARCHAR(),
    "BIGINT": sa.BIGINT(),
    "INTEGER": sa.INTEGER(),
    "SMALLINT": sa.SMALLINT(),
    "DOUBLE": sa.DOUBLE(),
    "FLOAT": sa.FLOAT(),
    "BOOLEAN": sa.BOOLEAN(),
    "DATE": sa.DATE(),
    # The raw contract's timestamps are UTC instants. A naive timestamp reflects as DATETIME, which
    # is not a TIMESTAMP to GX's isinstance check, so "TIMESTAMP" in a suite means "with time zone".
    "TIMESTAMP WITH TIME ZONE": sa.TIMESTAMP(timezone=True),
    "TIMESTAMP": sa.DATETIME(),
    "TIMESTAMP_MS": sa.DATETIME(),
    "TIMESTAMP_NS": sa.DATETIME(),
    "TIMESTAMP_S": sa.DATETIME(),
}


class _BufferedCursor:
    """A DB-API cursor whose result rows are fetched at execute time (see the module docstring)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.description: Any = None
        self._rows: list[Any] = []
        self._position = 0

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._cursor.execute(statement, parameters, context)
        self.description = self._cursor.description
        self._rows = self._cursor.fetchall() if self.description else []
        self._position = 0

    def executemany(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._cursor.executemany(statement, parameters, context)
        self.description, self._rows, self._position = None, [], 0

    @property
    def rowcount(self) -> int:
        return len(self._rows) if self.description else -1

    def fetchone(self) -> Any:
        if self._position >= len(self._rows):
            return None
        self._position += 1
        return self._rows[self._position - 1]

    def fetchmany(self, size: int | None = None) -> list[Any]:
        end = len(self._rows) if size is None else self._position + size
        rows = self._rows[self._position:end]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        return self.fetchmany(None)

    def close(self) -> None:
        self._rows = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _BufferingConnection:
    """duckdb_engine's connection wrapper, handing out buffered cursors."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def cursor(self) -> _BufferedCursor:
        return _BufferedCursor(self._connection.cursor())

    @property
    def closed(self) -> bool:
        return bool(self._connection.closed)

    def close(self) -> None:
        self._connection.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class Dialect(_DuckDBDialect):
    supports_statement_cache = False

    # GX picks the SQL of expect_column_values_to_match_regex by probing the dialect for known
    # class names (great_expectations.expectations.metrics.util.get_dialect_regex_expression);
    # none is DuckDB, so the regex check would raise "Regex is not supported for dialect duckdb".
    # The Dremio probe (an attribute named DremioDialect) emits REGEXP_MATCHES(column, regex),
    # which is exactly DuckDB's regexp_matches: true when the regex matches anywhere in the value,
    # the semantics of GX's pandas implementation (str.contains). PostgreSQL's "~", which the
    # inherited dialect would suggest, is a whole-value match in DuckDB.
    DremioDialect = "regexp_matches"

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return _BufferingConnection(super().connect(*cargs, **cparams))

    def get_columns(self, connection: Any, table_name: str, schema: str | None = None, **kw: Any) -> list[dict[str, Any]]:
        rows = connection.exec_driver_sql(
            "select column_name, data_type, is_nullable = 'YES' from information_schema.columns "
            "where table_name = ? and table_schema = coalesce(?, current_schema()) order by ordinal_position",
            (table_name, schema),
        ).fetchall()
        if not rows:
            raise sa.exc.NoSuchTableError(table_name)
        return [
            {"name": name, "type": _TYPES.get(kind, sa.types.NullType()), "nullable": nullable, "default": None}
            for name, kind, nullable in rows
        ]


registry.register(DIALECT, __name__, "Dialect")
