"""Pay-after-treatment indicators per hospital and per county (先诊疗后付费 指标):

- share of eligible admissions settled under pay-after-treatment: eligible admissions of the
  year with an active settlement and no deposit taken, over eligible admissions of the year;
- collection rate: paid over due, of the receivables not cancelled;
- overdue amount and age: what is outstanding past its due date (or past an instalment's),
  the oldest and the mean number of days overdue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth import Principal, Role
from service.policy.money import share
from service.receivables import store
from service.receivables.models import Receivable
from service.receivables.service import today_in_china
from service.receivables.status import overdue
from service.settlements.models import Settlement, SettlementReversal
from service.settlements.money import yuan
from service.violations.scope import CHINA_TZ


class PayAfterTreatmentRow(BaseModel):
    level: str  # hospital | county
    code: str
    county_code: str
    eligible_admissions: int
    settled_pay_after_treatment: int
    pay_after_treatment_share: str
    due: str
    paid: str
    collection_rate: str
    overdue_count: int
    overdue_amount: str
    overdue_max_days: int
    overdue_mean_days: int


class PayAfterTreatmentIndicators(BaseModel):
    year: int
    as_of: date
    hospitals: list[PayAfterTreatmentRow]
    counties: list[PayAfterTreatmentRow]


@dataclass
class _Tally:
    county_code: str
    eligible: int = 0
    settled: int = 0
    due: int = 0
    paid: int = 0
    overdue_days: list[int] = field(default_factory=list)
    overdue_fen: int = 0

    def add(self, other: _Tally) -> None:
        self.eligible += other.eligible
        self.settled += other.settled
        self.due += other.due
        self.paid += other.paid
        self.overdue_days += other.overdue_days
        self.overdue_fen += other.overdue_fen

    def row(self, level: str, code: str) -> PayAfterTreatmentRow:
        days = self.overdue_days
        return PayAfterTreatmentRow(
            level=level,
            code=code,
            county_code=self.county_code,
            eligible_admissions=self.eligible,
            settled_pay_after_treatment=self.settled,
            pay_after_treatment_share=str(share(self.settled, self.eligible)),
            due=yuan(self.due),
            paid=yuan(self.paid),
            collection_rate=str(share(self.paid, self.due)),
            overdue_count=len(days),
            overdue_amount=yuan(self.overdue_fen),
            overdue_max_days=max(days, default=0),
            overdue_mean_days=sum(days) // len(days) if days else 0,
        )


def _scope(principal: Principal, hospital: Any, county: Any) -> list[Any]:
    """The WHERE conditions that keep a caller to its scope (hospital, region, all)."""
    if principal.role is Role.HOSPITAL:
        return [hospital == principal.hospital_code]
    if principal.role is Role.AUDITOR:
        return [county.startswith(principal.region_prefix or "\x00")]
    return []


async def pay_after_treatment(
    session: AsyncSession, *, principal: Principal, year: int, today: date | None = None
) -> PayAfterTreatmentIndicators:
    day = today or today_in_china()
    tallies: dict[str, _Tally] = {}

    def tally(hospital: str, county: str) -> _Tally:
        return tallies.setdefault(hospital, _Tally(county))

    start = datetime(year, 1, 1, tzinfo=CHINA_TZ)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
    active = (
        sa.exists()
        .where(col(Settlement.admission_id) == col(Admission.id))
        .where(~sa.exists().where(col(SettlementReversal.settlement_id) == col(Settlement.id)))
    )
    settled = sa.and_(active, col(Admission.deposit_taken_fen) == 0)
    query = (
        select(
            col(Admission.hospital_code),
            col(Admission.county_code),
            sa.func.count(),
            sa.func.sum(sa.case((settled, 1), else_=0)),
        )
        .where(col(Admission.eligible).is_(True))
        .where(col(Admission.admitted_at) >= start, col(Admission.admitted_at) < end)
        .where(*_scope(principal, col(Admission.hospital_code), col(Admission.county_code)))
        .group_by(col(Admission.hospital_code), col(Admission.county_code))
    )
    for hospital, county, n, n_settled in (await session.exec(query)).all():
        t = tally(hospital, county)
        t.eligible, t.settled = int(n), int(n_settled or 0)
    money = (
        select(
            col(Receivable.hospital_code),
            col(Receivable.county_code),
            sa.func.sum(Receivable.amount_due_fen),
            sa.func.sum(Receivable.paid_fen),
        )
        .where(col(Receivable.status) != "cancelled")
        .where(col(Receivable.discharged_at) >= start, col(Receivable.discharged_at) < end)
        .where(*_scope(principal, col(Receivable.hospital_code), col(Receivable.county_code)))
        .group_by(col(Receivable.hospital_code), col(Receivable.county_code))
    )
    for hospital, county, due, paid in (await session.exec(money)).all():
        t = tally(hospital, county)
        t.due, t.paid = int(due or 0), int(paid or 0)
    await _overdue(session, principal, day, tally)
    counties: dict[str, _Tally] = defaultdict(lambda: _Tally(""))
    for t in tallies.values():
        counties[t.county_code].county_code = t.county_code
        counties[t.county_code].add(t)
    return PayAfterTreatmentIndicators(
        year=year,
        as_of=day,
        hospitals=[t.row("hospital", code) for code, t in sorted(tallies.items())],
        counties=[t.row("county", code) for code, t in sorted(counties.items())],
    )


async def _overdue(
    session: AsyncSession, principal: Principal, day: date, tally: Callable[[str, str], _Tally]
) -> None:
    """Every open receivable in scope (any year): overdue is about now, not the plan year."""
    hospital = principal.hospital_code if principal.role is Role.HOSPITAL else None
    prefix = principal.region_prefix if principal.role is Role.AUDITOR else None
    rows = await store.open_receivables(
        session, hospital_code=hospital, county_prefix=prefix, due_before=None, limit=100_000
    )
    schedules = await store.instalments_for(session, [r.id for r in rows if r.id is not None])
    for row in rows:
        late = overdue(row, schedules.get(row.id or 0, []), day)
        if late.since is None:
            continue
        t = tally(row.hospital_code, row.county_code)
        t.overdue_days.append(late.days(day))
        t.overdue_fen += row.amount_due_fen - row.paid_fen
