"""Small snapshots through the async session (demo data, tests), and the atomic swap the bulk
importer uses too: the pointer flips in one transaction, older entries go afterwards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from service.base import utcnow
from service.identity import IdHasher
from service.roster.models import ENTRY_COLUMNS, RosterEntry, RosterPointer, RosterSnapshot
from service.roster.rows import COLUMNS, RosterPerson, RowParser, header_index


async def load_people(
    session: AsyncSession,
    *,
    people: Iterable[RosterPerson],
    hasher: IdHasher,
    taken_at: datetime,
    source_name: str = "demo",
) -> RosterSnapshot:
    """Load and activate a snapshot of these people (flushes; the caller commits)."""
    snapshot = RosterSnapshot(source_name=source_name, taken_at=taken_at)
    session.add(snapshot)
    await session.flush()
    assert snapshot.id is not None
    parse = RowParser(header_index(list(COLUMNS)), hasher)
    line = 1
    rows = []
    for person in people:
        for values in person.csv_rows():
            line += 1
            entry = parse(values, line)
            rows.append(dict(zip(ENTRY_COLUMNS, (snapshot.id, *entry), strict=True)))
    if rows:
        await session.exec(sa.insert(RosterEntry), params=rows)
    snapshot.rows_read = snapshot.rows_loaded = len(rows)
    snapshot.counties = sorted({str(row["insured_county"]) for row in rows})
    await activate(session, snapshot)
    return snapshot


async def activate(session: AsyncSession, snapshot: RosterSnapshot) -> None:
    """Point readers at this snapshot and mark the previous one superseded."""
    now = utcnow()
    snapshot_id = snapshot.id
    assert snapshot_id is not None
    pointer = await session.get(RosterPointer, "active")
    if pointer is not None:
        await session.exec(
            sa.update(RosterSnapshot)
            .where(sa.column("id") == pointer.snapshot_id)
            .values(state="superseded")
        )
        pointer.snapshot_id = snapshot_id
        pointer.switched_at = now
    else:
        pointer = RosterPointer(name="active", snapshot_id=snapshot_id, switched_at=now)
    snapshot.state = "active"
    snapshot.activated_at = now
    session.add_all([pointer, snapshot])
    await session.flush()
