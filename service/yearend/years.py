"""Which plan year a run covers and which policy version governs it (ADR 0018, ADR 0021).

The version is the one in force on the plan year's last day for the person's pool, chosen the
way a settlement chooses (the catalog's `for_region`): looked up on 31 December of the year
named, and again on the year's real last day if that version's `plan_year` starts elsewhere
(`starts: 10-01`: the year 2025 ends 2026-09-30)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from service.china_time import day_start, today
from service.policy import CompiledPolicy
from service.policy.plan_year import CALENDAR_YEAR, plan_year_bounds, plan_year_of, rules_of
from service.policy_versions.errors import NoPolicyInForce
from service.settlements.plan_years import Catalog
from service.unit_of_work import UnitOfWork
from service.yearend.errors import PlanYearBeforeRecords, PlanYearNotOver, PlanYearOutOfRange

FIRST_YEAR, LAST_YEAR = 2000, 2098  # FilterDay's range (ADR 0012), less a year that ends after it


def check_range(plan_year: int) -> None:
    if not FIRST_YEAR <= plan_year <= LAST_YEAR:
        raise PlanYearOutOfRange(
            f"plan year {plan_year} is not between {FIRST_YEAR} and {LAST_YEAR}",
            field="plan_year",
        )


async def at_year_end(
    session: AsyncSession, catalog: Catalog, *, region: str, plan_year: int
) -> tuple[CompiledPolicy, date]:
    """The version in force on the plan year's last day for the region, and that day.

    31 December of the named year is in that plan year under any rules; the year goes on day
    by day while the version in force names the day ``plan_year``. A successor that names its
    first day another year ends the year the day before (a move back from 10-01 to 01-01 on
    1 January ends the October year on 31 December, not on the old rules' 30 September), and a
    day with no version in force keeps the rules of the last one (nothing settles then)."""
    day = plan_year_bounds(CALENDAR_YEAR, plan_year)[1]
    policy = await catalog.for_region(session, insured_region=region, on=day)
    end = plan_year_bounds(rules_of(policy), plan_year)[1]
    while day < end:
        following = day + timedelta(days=1)
        try:
            then = await catalog.for_region(session, insured_region=region, on=following)
        except NoPolicyInForce:
            return policy, end
        if plan_year_of(rules_of(then), following) != plan_year:
            return policy, day
        policy, day = then, following
        end = plan_year_bounds(rules_of(policy), plan_year)[1]
    return policy, day


def check_over(last_day: date, *, plan_year: int) -> None:
    if last_day >= today():
        raise PlanYearNotOver(
            f"plan year {plan_year} runs until {last_day.isoformat()}; settlements may still be "
            "added to it, so the year-end is run from the day after",
            field="plan_year",
        )


async def check_region_year(
    uow: UnitOfWork, catalog: Catalog, *, region: str, prefix: str, plan_year: int
) -> None:
    """Refuse a run before the region's plan year has ended (by its own policy's plan year,
    the calendar year when no version is in force for the region itself), and for a year the
    service holds no stay of: none under the region admitted by the year's last day, so no
    version was in force for it yet, or the county was not on the service (ADR 0021)."""
    try:
        _, last = await at_year_end(uow.session, catalog, region=region, plan_year=plan_year)
    except NoPolicyInForce:
        last = plan_year_bounds(CALENDAR_YEAR, plan_year)[1]
    check_over(last, plan_year=plan_year)
    after = last + timedelta(days=1)
    if not await uow.yearend.holds_stays(pool_prefix=prefix, admitted_before=day_start(after)):
        raise PlanYearBeforeRecords(
            f"the service holds no stay of region {region} admitted before "
            f"{after.isoformat()}: there is nothing of plan year {plan_year} to top up, and "
            "an empty run would read as checked; name a year the region settled on the service",
            field="plan_year",
        )
