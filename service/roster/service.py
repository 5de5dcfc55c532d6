"""A person's answer from the active snapshot (the statements are the roster store's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from service.registry.schemas import CategorySpan, ChronicCard, FamilyDoctor, PersonRecord
from service.roster.models import RosterEntry
from service.roster.store import SqlRosterStore


@dataclass(frozen=True, slots=True)
class SnapshotAnswer:
    snapshot_id: int
    taken_at: datetime
    record: PersonRecord | None  # None: not in the roster
    counties: tuple[str, ...] | None = None  # the insured counties it lists; None: not known


async def find_in_snapshot(session: AsyncSession, person_key: str) -> SnapshotAnswer | None:
    """The active snapshot's answer for this person; None when no snapshot is loaded."""
    store = SqlRosterStore(session)
    active = await store.active_id()
    if active is None:
        return None
    snapshot_id, taken_at, counties = active
    entries = await store.entries(snapshot_id, person_key)
    if not entries:
        # A load may have swapped a new snapshot in and dropped this one's rows between the two
        # reads: its silence would then be read as the person's absence. Ask the one now active.
        now_active = await store.active_id()
        if now_active is not None and now_active[0] != snapshot_id:
            snapshot_id, taken_at, counties = now_active
            entries = await store.entries(snapshot_id, person_key)
    record = record_from_entries(entries) if entries else None
    return SnapshotAnswer(
        snapshot_id=snapshot_id,
        taken_at=taken_at,
        record=record,
        counties=tuple(counties) if counties is not None else None,
    )


def record_from_entries(entries: list[RosterEntry]) -> PersonRecord:
    doctor_until = [e.family_doctor_until for e in entries if e.family_doctor_until]
    card_until = [e.chronic_card_until for e in entries if e.chronic_card_until]
    return PersonRecord(
        insured_county=entries[0].insured_county,
        deceased=any(e.deceased for e in entries),
        categories=tuple(
            CategorySpan(code=e.category, valid_from=e.valid_from, valid_to=e.valid_to)
            for e in entries
        ),
        family_doctor=FamilyDoctor(contracted=True, valid_to=max(doctor_until))
        if doctor_until
        else None,
        chronic_cards=(ChronicCard(valid_to=max(card_until)),) if card_until else (),
    )
