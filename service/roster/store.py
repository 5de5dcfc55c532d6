"""Where the active roster snapshot is read, one indexed query per person (cold path, ORM).

Loading a snapshot is a bulk write on a connection of its own (service/roster/importer.py and
writers.py, synchronous COPY / executemany): it owns that connection's transactions and is
the one documented exception to the unit of work (docs/decisions/0009-unit-of-work.md)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.roster.models import RosterEntry, RosterPointer, RosterSnapshot


class SqlRosterStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self) -> RosterSnapshot | None:
        pointer = await self._session.get(RosterPointer, "active")
        if pointer is None:
            return None
        return await self._session.get(RosterSnapshot, pointer.snapshot_id)

    async def active_id(self) -> tuple[int, datetime, list[str] | None] | None:
        """The active snapshot's id, when it was taken and the insured counties it lists (None:
        loaded before they were recorded); None when none is loaded."""
        row = (
            await self._session.exec(
                select(RosterSnapshot.id, RosterSnapshot.taken_at, RosterSnapshot.counties)
                .join(RosterPointer, col(RosterPointer.snapshot_id) == col(RosterSnapshot.id))
                .where(RosterPointer.name == "active")
            )
        ).first()
        if row is None:
            return None
        snapshot_id, taken_at, counties = row
        assert snapshot_id is not None
        return snapshot_id, taken_at, None if counties is None else [str(c) for c in counties]

    async def entries(self, snapshot_id: int, person_key: str) -> list[RosterEntry]:
        query = (
            select(RosterEntry)
            .where(RosterEntry.snapshot_id == snapshot_id, RosterEntry.person_key == person_key)
            .order_by(sa.asc(col(RosterEntry.line_no)))
        )
        return list((await self._session.exec(query)).all())
