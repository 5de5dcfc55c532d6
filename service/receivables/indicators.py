"""Pay-after-treatment indicators per hospital and per county (先诊疗后付费 指标):

- share of eligible admissions settled under pay-after-treatment: eligible admissions of the
  year with an active settlement and no deposit taken, over eligible admissions of the year;
- collection rate: paid over due, of the receivables not cancelled;
- overdue amount and age: what is outstanding past its due date (or past an instalment's),
  the oldest and the mean number of days overdue;
- not yet due: what stages of stays still in hospital (中途结算) leave outstanding; it is owed
  from the stay's discharge (ADR 0025), so it is in no year's due until then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, Field

from service.auth import Principal
from service.china_time import day_start
from service.china_time import today as china_today
from service.money import fen_to_yuan
from service.policy.money import share
from service.receivables.status import overdue
from service.unit_of_work import UnitOfWork

PAGE = 1000  # open receivables read at once (and their schedules: one IN list of this many)


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
    not_yet_due_count: int = Field(
        description="open shares of stays still in hospital (stages, 中途结算), as of `as_of`"
    )
    not_yet_due_amount: str = Field(description="what those shares leave outstanding, yuan")


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
    waiting: int = 0
    waiting_fen: int = 0

    def add(self, other: _Tally) -> None:
        self.eligible += other.eligible
        self.settled += other.settled
        self.due += other.due
        self.paid += other.paid
        self.overdue_days += other.overdue_days
        self.overdue_fen += other.overdue_fen
        self.waiting += other.waiting
        self.waiting_fen += other.waiting_fen

    def row(self, level: str, code: str) -> PayAfterTreatmentRow:
        days = self.overdue_days
        return PayAfterTreatmentRow(
            level=level,
            code=code,
            county_code=self.county_code,
            eligible_admissions=self.eligible,
            settled_pay_after_treatment=self.settled,
            pay_after_treatment_share=str(share(self.settled, self.eligible)),
            due=fen_to_yuan(self.due),
            paid=fen_to_yuan(self.paid),
            collection_rate=str(share(self.paid, self.due)),
            overdue_count=len(days),
            overdue_amount=fen_to_yuan(self.overdue_fen),
            overdue_max_days=max(days, default=0),
            overdue_mean_days=sum(days) // len(days) if days else 0,
            not_yet_due_count=self.waiting,
            not_yet_due_amount=fen_to_yuan(self.waiting_fen),
        )


async def pay_after_treatment(
    uow: UnitOfWork, *, principal: Principal, year: int, today: date | None = None
) -> PayAfterTreatmentIndicators:
    day = today or china_today()
    tallies: dict[str, _Tally] = {}

    def tally(hospital: str, county: str) -> _Tally:
        return tallies.setdefault(hospital, _Tally(county))

    start = day_start(date(year, 1, 1))
    end = day_start(date(year + 1, 1, 1))
    for hospital, county, n, n_settled in await uow.receivables.eligible_admissions(
        principal=principal, since=start, until=end
    ):
        t = tally(hospital, county)
        t.eligible, t.settled = n, n_settled
    for hospital, county, due, paid in await uow.receivables.collected(
        principal=principal, since=start, until=end
    ):
        t = tally(hospital, county)
        t.due, t.paid = due, paid
    await _overdue(uow, principal, day, tally)
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
    uow: UnitOfWork, principal: Principal, day: date, tally: Callable[[str, str], _Tally]
) -> None:
    """Every open receivable in scope (any year): overdue, and not yet due, are about now,
    not the plan year. Read a page at a time by id: a province's open shares are counted
    all (one read of 100,000 at most counted no more), in flat memory."""
    after = 0
    while rows := await uow.receivables.open_after(principal=principal, after_id=after, limit=PAGE):
        after = rows[-1].id or after
        schedules = await uow.receivables.instalments_for([r.id for r in rows if r.id is not None])
        for row in rows:
            if row.due_on is None:
                t = tally(row.hospital_code, row.county_code)
                t.waiting += 1
                t.waiting_fen += row.amount_due_fen - row.paid_fen
                continue
            late = overdue(row, schedules.get(row.id or 0, []), day)
            if late.since is None:
                continue
            t = tally(row.hospital_code, row.county_code)
            t.overdue_days.append(late.days(day))
            t.overdue_fen += row.amount_due_fen - row.paid_fen
