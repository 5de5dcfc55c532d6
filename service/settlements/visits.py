"""The admitted visit a settlement is for, with the visit's settlements so far, in one statement.

One read answers everything a settlement asks before it locks anything: is the visit admitted
at the calling hospital, who is the patient, was this HIS message already settled (idempotency),
and is the visit still settled. A visit has a handful of settlements at most, so the join
returns a handful of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.admissions.models import Admission
from service.settlements.models import Settlement, SettlementReversal

_admissions = Admission.__table__  # type: ignore[attr-defined]
_settlements = Settlement.__table__  # type: ignore[attr-defined]
_reversals = SettlementReversal.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Earlier:
    """One settlement of the visit: enough to replay it or to see that it is still active."""

    id: int
    visit_id: str
    his_settlement_id: str
    visit_seq: int
    request_hash: str
    reversal_id: int | None

    @property
    def active(self) -> bool:
        return self.reversal_id is None


@dataclass(frozen=True, slots=True)
class AdmittedVisit:
    id: int
    hospital_code: str
    county_code: str
    visit_id: str
    state: str
    person_key: str
    person_masked: str
    insured_county: str
    visit_type: str
    admitted_at: datetime
    location: str
    referred: bool
    categories: frozenset[str]
    history: tuple[Earlier, ...]  # newest first

    def earlier(self, his_settlement_id: str) -> Earlier | None:
        return next((e for e in self.history if e.his_settlement_id == his_settlement_id), None)

    @property
    def latest(self) -> Earlier | None:
        return self.history[0] if self.history else None

    @property
    def next_seq(self) -> int:
        return self.history[0].visit_seq + 1 if self.history else 1


_VISIT = (
    sa.select(
        _admissions.c.id,
        _admissions.c.county_code,
        _admissions.c.state,
        _admissions.c.person_key,
        _admissions.c.person_masked,
        _admissions.c.insured_county,
        _admissions.c.visit_type,
        _admissions.c.admitted_at,
        _admissions.c.location,
        _admissions.c.referred,
        _admissions.c.categories,
        _settlements.c.id.label("settlement_id"),
        _settlements.c.his_settlement_id,
        _settlements.c.visit_seq,
        _settlements.c.request_hash,
        _reversals.c.id.label("reversal_id"),
    )
    .select_from(
        _admissions.outerjoin(
            _settlements,
            sa.and_(
                _settlements.c.hospital_code == _admissions.c.hospital_code,
                _settlements.c.visit_id == _admissions.c.visit_id,
            ),
        ).outerjoin(_reversals, _reversals.c.settlement_id == _settlements.c.id)
    )
    .where(
        _admissions.c.hospital_code == sa.bindparam("hospital_code"),
        _admissions.c.visit_id == sa.bindparam("visit_id"),
    )
    .order_by(_settlements.c.visit_seq.desc())
)


# A settlement holds the admission row (FOR KEY SHARE, PostgreSQL) from this read to its commit,
# before it locks any accumulator; reversing the admission takes the same row FOR UPDATE first.
# So one waits for the other and then sees it: a settlement never commits on a reversed
# admission, nor a reversal on a settled one. Settlements of one visit do not block each other.
# SQLite serialises whole write transactions anyway.
_VISIT_LOCKED = _VISIT.with_for_update(read=True, key_share=True, of=_admissions)


async def read_visit(
    conn: AsyncConnection, *, hospital_code: str, visit_id: str, lock: bool = False
) -> AdmittedVisit | None:
    """The calling hospital's admission of this visit (None: no such visit there); `lock`:
    hold the admission against a reversal until the transaction ends."""
    query = _VISIT_LOCKED if lock else _VISIT
    rows = (await conn.execute(query, {"hospital_code": hospital_code, "visit_id": visit_id})).all()
    if not rows:
        return None
    first = rows[0]
    history = tuple(
        Earlier(
            r.settlement_id,
            visit_id,
            r.his_settlement_id,
            r.visit_seq,
            r.request_hash,
            r.reversal_id,
        )
        for r in rows
        if r.settlement_id is not None
    )
    return AdmittedVisit(
        id=first.id,
        hospital_code=hospital_code,
        county_code=first.county_code,
        visit_id=visit_id,
        state=first.state,
        person_key=first.person_key,
        person_masked=first.person_masked,
        insured_county=first.insured_county,
        visit_type=first.visit_type,
        admitted_at=first.admitted_at,
        location=first.location,
        referred=first.referred,
        categories=frozenset(first.categories or ()),
        history=history,
    )
