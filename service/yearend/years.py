"""Which plan year a run covers and which policy version governs it (ADR 0018, ADR 0021).

The version is the one in force on the plan year's last day for the person's pool, chosen the
way a settlement chooses (the catalog's `for_region`): looked up on 31 December of the year
named, and again on the year's real last day if that version's `plan_year` starts elsewhere
(`starts: 10-01`: the year 2025 ends 2026-09-30)."""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from service.china_time import today
from service.policy import CompiledPolicy
from service.policy.plan_year import CALENDAR_YEAR, plan_year_bounds, rules_of
from service.policy_versions.errors import NoPolicyInForce
from service.settlements.plan_years import Catalog
from service.yearend.errors import PlanYearNotOver, PlanYearOutOfRange

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
    """The version in force on the plan year's last day for the region, and that day."""
    december = plan_year_bounds(CALENDAR_YEAR, plan_year)[1]
    policy = await catalog.for_region(session, insured_region=region, on=december)
    last = plan_year_bounds(rules_of(policy), plan_year)[1]
    if last != december:
        policy = await catalog.for_region(session, insured_region=region, on=last)
    return policy, last


def check_over(last_day: date, *, plan_year: int) -> None:
    if last_day >= today():
        raise PlanYearNotOver(
            f"plan year {plan_year} runs until {last_day.isoformat()}; settlements may still be "
            "added to it, so the year-end is run from the day after",
            field="plan_year",
        )


async def check_region_year_over(
    session: AsyncSession, catalog: Catalog, *, region: str, plan_year: int
) -> None:
    """Refuse a run before the region's plan year has ended (by its own policy's plan year,
    the calendar year when no version is in force for the region itself)."""
    try:
        _, last = await at_year_end(session, catalog, region=region, plan_year=plan_year)
    except NoPolicyInForce:
        last = plan_year_bounds(CALENDAR_YEAR, plan_year)[1]
    check_over(last, plan_year=plan_year)
