"""A year-end run (二次救助 / 年度补足) for one region and one ended plan year, and what it booked.

For every person with active settlements of the year under the region, the stays are rebuilt
from the stored rows as the what-if rebuilds them (service/whatif: visit and bill; the stored
answer as the engine's result: service/settlements/render.py `stored_result`), the policy
version in force on the plan year's last day for the person's pool is chosen
(service/yearend/years.py), and `settle_year_end` computes each `year_end` entry. What is booked
is the figure less what earlier runs booked (service/yearend/adjust.py): never an edit. ADR 0021.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import uuid4

from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.auth.visibility import covers_region, prefix_of_region
from service.china_time import day_start
from service.indicators.service import RegionOutOfScope
from service.money import fen_to_yuan
from service.policy import Bill, CompiledPolicy, SettlementResult, Visit, settle_year_end
from service.policy.whatif import Stay
from service.settlements.plan_years import Catalog
from service.settlements.render import stored_result
from service.unit_of_work import UnitOfWork
from service.whatif.service import stay_of
from service.whatif.store import SqlWhatIfStore
from service.yearend import parts, years
from service.yearend.adjust import Owed, owed
from service.yearend.errors import RegionNotFound, YearEndRunRaced
from service.yearend.models import YearEndPayment
from service.yearend.schemas import (
    YearEndEntryPublic,
    YearEndFundPublic,
    YearEndFundTotalPublic,
    YearEndLedger,
    YearEndPaymentPublic,
    YearEndPersonPublic,
    YearEndRunCreate,
    YearEndRunPublic,
)
from service.yearend.store import Booked

log = logging.getLogger("settlecheck.yearend")

RACE_ATTEMPTS = 3
Person = tuple[str, str]  # (person_key, pool)


@dataclass
class PersonYear:
    """One person's active settlements of the plan year, oldest first."""

    person_masked: str
    settlement_ids: list[int] = field(default_factory=list)
    stays: list[tuple[Visit, Bill, SettlementResult]] = field(default_factory=list)
    categories: frozenset[str] = frozenset()  # the latest stay's: the person's status last seen


async def scoped_prefix(
    uow: UnitOfWork, principal: Principal | None, region_code: str, plan_year: int
) -> str:
    """The region's prefix, if the caller's scope holds it and the region exists (both 404),
    for a plan year in range (422): what every year-end call checks first."""
    prefix = prefix_of_region(region_code)
    if principal is not None and not covers_region(principal, prefix):
        raise RegionOutOfScope(f"region {region_code} is outside your scope", field="region_code")
    if not await uow.yearend.region_exists(region_code):
        raise RegionNotFound(f"there is no region {region_code}", field="region_code")
    years.check_range(plan_year)
    return prefix


async def run_year_end(
    uow: UnitOfWork,
    catalog: Catalog,
    *,
    principal: Principal | None,
    body: YearEndRunCreate,
    booked_by: str,
) -> YearEndRunPublic:
    """Run (or with ``dry_run`` compute) the year-end of ``body.region_code``'s
    ``body.plan_year``; ``principal`` None is the operator's CLI (every region)."""
    prefix = await scoped_prefix(uow, principal, body.region_code, body.plan_year)
    await years.check_region_year(
        uow, catalog, region=body.region_code, prefix=prefix, plan_year=body.plan_year
    )
    run_id = uuid4().hex

    async def work() -> YearEndRunPublic:
        return await _run(uow, catalog, prefix=prefix, body=body, run_id=run_id, by=booked_by)

    if body.dry_run:
        return await work()
    answer = await _once(uow, work)
    log.info(
        "year-end run %s of %s %d: %d people, %d rows booked, %s yuan",
        run_id,
        body.region_code,
        body.plan_year,
        answer.persons_considered,
        answer.rows_booked,
        answer.booked_now,
    )
    return answer


async def _once(
    uow: UnitOfWork, work: Callable[[], Awaitable[YearEndRunPublic]]
) -> YearEndRunPublic:
    """Run ``work``; if another run booked a position first, roll back and run again (it then
    books only what the other left), at most RACE_ATTEMPTS times."""

    async def lost() -> YearEndRunPublic:
        raise YearEndRunRaced("other runs of this year kept booking first; run it again")

    async def attempt(left: int) -> YearEndRunPublic:
        again = (lambda: attempt(left - 1)) if left > 1 else lost
        return await uow.run(work, on_duplicate=again)

    return await attempt(RACE_ATTEMPTS)


async def _year_of(
    session: AsyncSession, *, prefix: str, plan_year: int
) -> dict[Person, PersonYear]:
    """The year's active settlements under the region, by person, rebuilt as the engine's
    input (the what-if's reading and rebuilding), each split stay by its part in the year: the
    year's own settlements, then the split ones of later years admitted before the year could
    have ended (any plan year named ``plan_year`` ends before the next calendar year does)."""
    store = SqlWhatIfStore(session)
    found: dict[Person, list[tuple[int, Stay, tuple[Visit, Bill, SettlementResult]]]] = {}
    later = store.settlements(
        pool_prefix=prefix,
        year=plan_year,
        later=True,
        admitted_before=day_start(date(plan_year + 2, 1, 1)),
    )
    for rows in (store.settlements(pool_prefix=prefix, year=plan_year), later):
        async for row in rows:
            stay = stay_of(row)
            counted = parts.counted_in(
                plan_year,
                discharge_year=int(row.year),
                stored=row.result,
                bill=stay.bill,
                result=stored_result(row.result),
            )
            if counted is not None:
                bill, result = counted
                entry = (int(row.id), stay, (stay.visit, bill, result))
                found.setdefault((stay.person_key, stay.pool), []).append(entry)
    people: dict[Person, PersonYear] = {}
    for person, entries in found.items():
        entries.sort(key=lambda entry: entry[0])  # settlement order, a later year's part too
        year = people[person] = PersonYear(entries[0][1].person_masked)
        for settlement_id, stay, part in entries:
            year.settlement_ids.append(settlement_id)
            year.stays.append(part)
            year.categories = stay.categories
    return people


async def _run(
    uow: UnitOfWork,
    catalog: Catalog,
    *,
    prefix: str,
    body: YearEndRunCreate,
    run_id: str,
    by: str,
) -> YearEndRunPublic:
    plan_year = body.plan_year
    people = await _year_of(uow.session, prefix=prefix, plan_year=plan_year)
    booked: dict[Person, dict[str, Booked]] = defaultdict(dict)
    for b in await uow.yearend.booked(pool_prefix=prefix, plan_year=plan_year):
        booked[(b.person_key, b.pool)][b.code] = b
    policies: dict[str, CompiledPolicy] = {}
    persons: list[YearEndPersonPublic] = []
    all_lines: list[Owed] = []
    rows: list[YearEndPayment] = []
    for person in sorted(set(people) | set(booked), key=lambda p: (p[1], p[0])):
        pool = person[1]
        if pool not in policies:
            policy, last = await years.at_year_end(
                uow.session, catalog, region=pool, plan_year=plan_year
            )
            years.check_over(last, plan_year=plan_year)
            policies[pool] = policy
        policy = policies[pool]
        before = booked.get(person, {})
        year = people.get(person) or PersonYear(next(iter(before.values())).person_masked)
        figures = settle_year_end(policy, categories=year.categories, stays=year.stays)
        lines = owed(figures, before)
        all_lines.extend(lines)
        at = _At(person, plan_year, policy, run_id, by[:64])
        rows.extend(_row(line, at=at, year=year) for line in lines if line.difference_fen)
        shown = [_entry(line) for line in lines if _worth_showing(line)]
        if shown:
            persons.append(
                YearEndPersonPublic(
                    person_masked=year.person_masked,
                    pool=pool,
                    policy_version=policy.version,
                    policy_hash=policy.content_hash,
                    settlements=len(year.stays),
                    entries=shown,
                )
            )
    if rows and not body.dry_run:
        await uow.yearend.book(rows)
    return YearEndRunPublic(
        run_id=run_id,
        region_code=body.region_code,
        plan_year=plan_year,
        dry_run=body.dry_run,
        persons_considered=len(people),
        persons=persons,
        funds=_funds(all_lines),
        rows_booked=0 if body.dry_run else len(rows),
        booked_now=fen_to_yuan(sum(line.difference_fen for line in all_lines)),
    )


def _worth_showing(line: Owed) -> bool:
    return bool(line.figure.amount_fen or line.booked_before_fen or line.difference_fen)


@dataclass(frozen=True, slots=True)
class _At:
    """Where a booking belongs: the person, the year, the version and the run."""

    person: Person
    plan_year: int
    policy: CompiledPolicy
    run_id: str
    booked_by: str


def _row(line: Owed, *, at: _At, year: PersonYear) -> YearEndPayment:
    f, policy = line.figure, at.policy
    return YearEndPayment(
        person_key=at.person[0],
        person_masked=year.person_masked,
        pool=at.person[1],
        plan_year=at.plan_year,
        code=f.code,
        seq=line.seq,
        name=f.name[:128],
        fund_type=f.fund_type,
        amount_fen=line.difference_fen,
        year_total_fen=f.amount_fen,
        stays=f.stays,
        settlement_ids=year.settlement_ids,
        cost_fen=f.cost_fen,
        self_pay_fen=f.self_pay_fen,
        deductible_fen=f.deductible_fen,
        patient_after_fen=f.patient_after_fen,
        policy_region=policy.region_code,
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        run_id=at.run_id,
        booked_by=at.booked_by,
    )


def _entry(line: Owed) -> YearEndEntryPublic:
    f, y = line.figure, fen_to_yuan
    return YearEndEntryPublic(
        code=f.code,
        name=f.name,
        fund_type=f.fund_type,
        stays=f.stays,
        cost=y(f.cost_fen),
        self_pay=y(f.self_pay_fen),
        deductible=y(f.deductible_fen),
        year_total=y(f.amount_fen),
        booked_before=y(line.booked_before_fen),
        booked_now=y(line.difference_fen),
        patient_after=y(f.patient_after_fen),
    )


def _funds(lines: list[Owed]) -> list[YearEndFundPublic]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        s = sums[line.figure.fund_type]
        s[0] += line.figure.amount_fen
        s[1] += line.booked_before_fen
        s[2] += line.difference_fen
    return [
        YearEndFundPublic(
            fund_type=fund,
            year_total=fen_to_yuan(total),
            booked_before=fen_to_yuan(before),
            booked_now=fen_to_yuan(now),
        )
        for fund, (total, before, now) in sorted(sums.items())
    ]


async def fund_totals(
    uow: UnitOfWork, *, principal: Principal | None, region_code: str, plan_year: int
) -> list[YearEndFundTotalPublic]:
    """Every fund's total of the rows booked for the region's plan year (refusals as the
    ledger's)."""
    prefix = await scoped_prefix(uow, principal, region_code, plan_year)
    return await _fund_totals(uow, prefix=prefix, plan_year=plan_year)


async def _fund_totals(
    uow: UnitOfWork, *, prefix: str, plan_year: int
) -> list[YearEndFundTotalPublic]:
    totals = await uow.yearend.fund_totals(pool_prefix=prefix, plan_year=plan_year)
    return [YearEndFundTotalPublic(fund_type=f, total=fen_to_yuan(t)) for f, t in totals]


async def every_payment(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    region_code: str,
    plan_year: int,
    batch: int = 500,
) -> AsyncIterator[YearEndPaymentPublic]:
    """Every row booked for the region's plan year, in booking order, read a keyset page at a
    time (for a download)."""
    prefix = await scoped_prefix(uow, principal, region_code, plan_year)
    after = 0
    while True:
        rows = await uow.yearend.payments(
            pool_prefix=prefix, plan_year=plan_year, after_id=after, limit=batch
        )
        for row in rows:
            yield _public(row)
        if len(rows) < batch:
            return
        after = int(rows[-1].id or 0)


async def year_end_ledger(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    region_code: str,
    plan_year: int,
    after: int = 0,
    limit: int = 200,
) -> YearEndLedger:
    """What the runs booked for the region's plan year: a page of rows and every fund's total."""
    prefix = await scoped_prefix(uow, principal, region_code, plan_year)
    rows = await uow.yearend.payments(
        pool_prefix=prefix, plan_year=plan_year, after_id=after, limit=limit
    )
    return YearEndLedger(
        region_code=region_code,
        plan_year=plan_year,
        payments=[_public(row) for row in rows],
        next_after=rows[-1].id if len(rows) == limit else None,
        funds=await _fund_totals(uow, prefix=prefix, plan_year=plan_year),
    )


def _public(row: YearEndPayment) -> YearEndPaymentPublic:
    y = fen_to_yuan
    return YearEndPaymentPublic.model_validate(
        row.model_dump()
        | {
            "amount": y(row.amount_fen),
            "year_total": y(row.year_total_fen),
            "cost": y(row.cost_fen),
            "self_pay": y(row.self_pay_fen),
            "deductible": y(row.deductible_fen),
            "patient_after": y(row.patient_after_fen),
        }
    )
