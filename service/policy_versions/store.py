"""Where policy versions are read and written (cold paths, ORM; the catalog keeps the compiled
set in process and asks only for the newest ids on its refresh)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.base import table_of
from service.china_time import day_start, local_date
from service.policy_versions.models import PolicyVersion, PolicyVersionEvent
from service.settlements.models import Settlement

Generation = tuple[int | None, int | None]
"""The newest version id and history event id: which stored set of versions one has read."""

# A settlement and a change of the versions never both commit on a different view of the set
# (ADR 0018, addendum "A replica's stale list"). A PostgreSQL transaction-level advisory lock,
# one per province under the first key `_HOLD`: a settlement takes its pool's province shared
# (every region whose versions can govern it, county, prefecture and province, lies within it),
# inside the statement that locks its accumulators (`HELD_SQL`), and keeps it to its commit; a
# load or a withdrawal takes its region's province exclusively (`hold`) before it reads what was
# settled. Then the settlement writes only if the set its catalogue chose from is still the
# stored one (`CURRENT_SQL`, inside its write). So either the change waits for a settlement in
# flight and its checks see it, or the settlement waits for the change and its write sees the
# set moved. One lock, not one per region of the chain: three cost a settlement twice what one
# does (pgbench, 32 clients), and a load, a few a year, holds its province's settlements for
# the fraction of a second it takes. SQLite serialises write transactions: there the check
# alone suffices.
_HOLD = 18  # no other advisory lock is taken
HELD_SQL = f"(SELECT count(pg_advisory_xact_lock_shared({_HOLD}, CAST(:province AS integer)))) > 0"
_EXCLUSIVE = sa.text(f"SELECT pg_advisory_xact_lock({_HOLD}, CAST(:province AS integer))")
_CURRENT = (
    "(SELECT max(id) FROM policy_versions) {same} :versions_seen "
    "AND (SELECT max(id) FROM policy_version_events) {same} :events_seen"
)
CURRENT_SQL = {
    "postgresql": _CURRENT.format(same="IS NOT DISTINCT FROM"),
    "sqlite": _CURRENT.format(same="IS"),
}
CURRENT_BINDS = [
    sa.bindparam("versions_seen", type_=sa.Integer),
    sa.bindparam("events_seen", type_=sa.Integer),
]


def province_of(region: str) -> int:
    """The advisory lock's second key for a 6-digit division code: its province's two digits."""
    return int(region[:2])


def current_params(seen: Generation) -> dict[str, int | None]:
    """`CURRENT_SQL`'s parameters: the set a catalogue chose from."""
    return {"versions_seen": seen[0], "events_seen": seen[1]}


_versions = table_of(PolicyVersion)
_events = table_of(PolicyVersionEvent)
# Succession and withdrawal change rows without adding a version: the events' id moves then.
_GENERATION = sa.select(
    sa.func.max(_versions.c.id), sa.select(sa.func.max(_events.c.id)).scalar_subquery()
)

_DATE_COLUMN = {
    "admission": Settlement.admitted_at,
    "discharge": Settlement.discharged_at,
    "settlement": Settlement.created_at,
}


class SqlPolicyVersionStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self, region: str | None = None) -> list[PolicyVersion]:
        query = select(PolicyVersion).order_by(
            col(PolicyVersion.region_code), col(PolicyVersion.effective_from)
        )
        if region is not None:
            query = query.where(col(PolicyVersion.region_code).startswith(region))
        return list((await self._session.exec(query)).all())

    async def lock(self) -> None:
        """Lock every stored version (PostgreSQL; SQLite takes the write lock at BEGIN), so
        loads and withdrawals are judged one after another. Read the versions after it, in
        statements of their own: under READ COMMITTED they then see what the write that held
        the lock committed (a version it added, a window it moved, one it removed)."""
        await self._session.exec(
            select(PolicyVersion.id).order_by(col(PolicyVersion.id)).with_for_update()
        )

    async def hold(self, region: str) -> None:
        """Wait for the settlements in flight under the region's versions (its own, or
        inherited by the regions within it) and keep new ones from writing until this
        transaction ends (PostgreSQL; SQLite serialises writers): what is settled, read after
        it, is all there will be until it commits (`HELD_SQL` above)."""
        conn = await self._session.connection()
        if conn.dialect.name == "postgresql":
            await conn.execute(_EXCLUSIVE, {"province": province_of(region)})

    async def by_hash(self, content_hash: str) -> PolicyVersion | None:
        query = select(PolicyVersion).where(PolicyVersion.content_hash == content_hash)
        return (await self._session.exec(query)).first()

    async def newest_id(self) -> Generation:
        """The newest version's and the newest history event's ids: a change of either means
        the set in force changed."""
        conn = await self._session.connection()
        row = (await conn.execute(_GENERATION)).one()
        return (
            None if row[0] is None else int(row[0]),
            None if row[1] is None else int(row[1]),
        )

    async def add(self, version: PolicyVersion) -> None:
        self._session.add(version)
        await self._session.flush()

    async def set_window_end(self, version: PolicyVersion, effective_to: date | None) -> None:
        version.effective_to = effective_to
        self._session.add(version)
        await self._session.flush()

    async def remove(self, version: PolicyVersion) -> None:
        await self._session.delete(version)
        await self._session.flush()

    async def record(self, event: PolicyVersionEvent) -> None:
        self._session.add(event)
        await self._session.flush()

    async def history(self, region: str | None = None) -> list[PolicyVersionEvent]:
        query = select(PolicyVersionEvent).order_by(col(PolicyVersionEvent.id))
        if region is not None:
            query = query.where(col(PolicyVersionEvent.region_code).startswith(region))
        return list((await self._session.exec(query)).all())

    async def used(self, hashes: Collection[str]) -> bool:
        """Has any admission or settlement been made under one of these compiled hashes?"""
        if not hashes:
            return False
        for model in (Settlement, Admission):
            query = select(model.id).where(col(model.policy_hash).in_(list(hashes))).limit(1)
            if (await self._session.exec(query)).first() is not None:
                return True
        return False

    async def settled_from(
        self, hashes: Collection[str], day: date, by: str, *, pools: str | None = None
    ) -> date | None:
        """The first date (by the version-choosing date ``by``) on or after ``day`` of a
        settlement made under one of these hashes (of an insured pool starting ``pools``, when
        given), if there is one."""
        if not hashes:
            return None
        column = _DATE_COLUMN[by]
        query = (
            select(sa.func.min(column))
            .where(col(Settlement.policy_hash).in_(list(hashes)))
            .where(column >= day_start(day))
        )
        if pools is not None:
            query = query.where(col(Settlement.pool).startswith(pools))
        first = (await self._session.exec(query)).first()
        if first is None:
            return None
        return local_date(first if first.tzinfo is not None else first.replace(tzinfo=UTC))
