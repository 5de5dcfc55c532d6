"""Writing a settlement: its row and the accumulators it moves.

On PostgreSQL one statement does both (the accumulator update as a data-modifying WITH, which
runs to completion whether or not the INSERT reads it), saving a round trip on the hottest
write; SQLite has no such WITH and takes two. Either way the accumulators were locked first
(`accumulators.lock`), and the whole transaction commits or rolls back as one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import insert_statement
from service.settlements.accumulators import PG_VALUES, WRITE, WRITE_SQL, moved_values
from service.settlements.models import Settlement

_table = Settlement.__table__  # type: ignore[attr-defined]
_INSERT = sa.insert(_table).returning(_table.c.id)
_INSERT_MOVING = insert_statement(
    _table,
    before=f"WITH moved AS ({WRITE_SQL.format(values=PG_VALUES)} RETURNING 1)",
    after="RETURNING id",
)


async def record(
    conn: AsyncConnection, row: Mapping[str, Any], *, locked: Mapping[str, int]
) -> int:
    """Insert the settlement `row` and move its accumulators by `row["deltas"]`; its id.

    The accumulators are the row's own scope: its person_key, pool and year."""
    values = json.dumps(moved_values(locked, row["deltas"]))
    if conn.dialect.name == "postgresql":
        return int((await conn.execute(_INSERT_MOVING, {**row, "values": values})).scalar_one())
    settlement_id = int((await conn.execute(_INSERT, row)).scalar_one())
    scope = {"person_key": row["person_key"], "pool": row["pool"], "year": row["year"]}
    await conn.execute(WRITE["sqlite"], {**scope, "values": values})
    return settlement_id
