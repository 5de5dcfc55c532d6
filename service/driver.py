"""Hot statements sent straight to the driver on PostgreSQL (ADR 0022).

SQLAlchemy's execution of a cached statement costs ~160 µs of CPU on this stack against ~63 µs
for the same statement sent to psycopg directly (compiled-cache look-up, the greenlet hop,
parameter and result set-up). On the hot paths (settlement, admission) a store may run a
statement through `DriverStatement` instead: the same SQL, compiled once per dialect from the
same SQLAlchemy statement, the columns' own bind and result conversions (JSON, UTC
timestamps), executed on the session's connection inside its transaction (the unit of work
still begins, commits and rolls it back). What SQLAlchemy does around an execution that
matters here is kept: driver errors become SQLAlchemy's (`IntegrityError` for the stores'
`Duplicate`, `DBAPIError` with the SQLSTATE for the unit of work's retry, `OperationalError`
for the 503), a lost connection is invalidated so the pool replaces it, and
`before_cursor_execute` listeners still see the statement (the statement budget test).

PostgreSQL only: SQLite stores keep SQLAlchemy's execution (there it is the driver's thread
hop that costs, not SQLAlchemy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Json, Jsonb
from pydantic_core import to_json
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any]
_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK: the statement returned rows


class _Compiled:
    __slots__ = ("binds", "defaults", "results", "sql")

    def __init__(self, statement: sa.Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql: str = str(compiled)
        # the values the statement carries itself (a LIMIT 1), under the caller's
        self.defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self.binds: list[tuple[str, Processor]] = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                if isinstance(bind.type, sa.JSON):
                    process = _json_dumped_by_pydantic(process)
                self.binds.append((name, process))
        self.results: list[tuple[int, Processor]] = []
        if isinstance(statement, sa.Select):
            for i, column in enumerate(statement.selected_columns):
                process = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if process is not None:
                    self.results.append((i, process))


def _json_dumped_by_pydantic(process: Processor) -> Processor:
    """SQLAlchemy's JSON bind (its `none_as_null`, its NULL), with the document written by
    pydantic's serializer instead of psycopg's `json.dumps`: a settlement's answer (~5 KB, its
    trace in Chinese, which `json.dumps` escapes) took ~5x as long. The same JSON value, written
    compactly in UTF-8; every reader decodes it."""

    def bind(value: Any) -> Any:
        bound = process(value)
        if isinstance(bound, Json | Jsonb):
            bound.dumps = to_json
        return bound

    return bind


class DriverStatement:
    """One statement, built once at import like the stores' others, run on the driver."""

    __slots__ = ("_by_dialect", "statement")

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[int, tuple[Dialect, _Compiled]] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(id(dialect))
        if found is None or found[0] is not dialect:
            found = (dialect, _Compiled(self.statement, dialect))
            self._by_dialect[id(dialect)] = found
        return found[1]

    async def rows(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """The statement's rows (tuples, in the order of its columns)."""
        # The sync Connection's own attributes: AsyncConnection's proxies are a call each.
        sync = conn.sync_connection
        assert sync is not None
        compiled = self._compiled(sync.dialect)
        values = {**compiled.defaults, **params}
        for name, process in compiled.binds:
            if name in values:
                values[name] = process(values[name])
        if not sync.in_transaction():  # SQLAlchemy's autobegin (a unit of work has begun)
            await conn.begin()
        if sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, compiled.sql, values, None, False)
        # The pooled connection as the property has it, without `get_raw_connection()`'s
        # greenlet hop: inside a begun transaction it is there. A closed or invalidated
        # connection takes SQLAlchemy's way (which revalidates it or raises).
        raw = (
            await conn.get_raw_connection() if sync.closed or sync.invalidated else sync.connection
        )
        try:
            cursor = await raw.driver_connection.execute(compiled.sql, values)  # type: ignore[union-attr]
            # Asked of the result's status, not `cursor.description`: the description builds an
            # object per column (18 for the visit read), which nothing here reads.
            result = cursor.pgresult
            returned = result is not None and result.status == _TUPLES_OK
            rows = await cursor.fetchall() if returned else []
        except conn.dialect.loaded_dbapi.Error as exc:
            lost = conn.dialect.is_disconnect(exc, raw.dbapi_connection, None)
            if lost:
                await conn.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                values,
                exc,
                conn.dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=conn.dialect,
            ) from exc
        if compiled.results:
            converted: list[Sequence[Any]] = []
            for row in rows:
                values_out = list(row)
                for i, process in compiled.results:
                    values_out[i] = process(values_out[i])
                converted.append(values_out)
            return converted
        return rows

    async def scalar(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None if there is no row."""
        rows = await self.rows(conn, params)
        return rows[0][0] if rows else None
