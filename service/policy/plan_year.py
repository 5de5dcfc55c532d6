"""A policy's year (险种年度 / 待遇年度): when it starts, which date picks a version and a year,
and how a stay across the year's end is settled. Pure; the settlement context and the catalog
ask it (docs/policy.md, ADR 0018).

A plan year is named by the calendar year it starts in: with ``starts: 10-01`` the year 2025
runs from 2025-10-01 to 2026-09-30. With the default ``01-01`` it is the calendar year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from service.policy.compiled import CompiledPolicy
from service.policy.schema import PlanYear

__all__ = [
    "CALENDAR_YEAR",
    "YearPart",
    "plan_year_bounds",
    "plan_year_of",
    "rules_of",
    "split_days",
    "stage_start",
    "part_version_day",
    "version_day",
]

CALENDAR_YEAR = PlanYear()


def rules_of(policy: CompiledPolicy) -> PlanYear:
    """The policy's plan-year rules (the defaults when the document states none)."""
    return policy.document.plan_year or CALENDAR_YEAR


def _start(rules: PlanYear) -> tuple[int, int]:
    month, day = (int(part) for part in rules.starts.split("-"))
    return month, day


def plan_year_of(rules: PlanYear, day: date) -> int:
    """The plan year ``day`` falls in, named by the calendar year it starts in."""
    month, first = _start(rules)
    return day.year if (day.month, day.day) >= (month, first) else day.year - 1


def plan_year_bounds(rules: PlanYear, year: int) -> tuple[date, date]:
    """First and last day (inclusive) of plan year ``year``."""
    month, first = _start(rules)
    start = date(year, month, first)
    return start, date(year + 1, month, first) - timedelta(days=1)


def version_day(
    rules: PlanYear, *, admitted_on: date, discharged_on: date, settled_on: date
) -> date:
    """The date that chooses the policy version (and the plan year) of a settlement."""
    return {
        "admission": admitted_on,
        "discharge": discharged_on,
        "settlement": settled_on,
    }[rules.version_date]


def part_version_day(rules: PlanYear, *, first_day: date, last_day: date) -> date:
    """The day whose version settles an earlier plan year's part of a split stay (ADR 0018,
    addendum): the date rule applied inside the part, its last day standing for both the
    discharge and the settlement."""
    return version_day(rules, admitted_on=first_day, discharged_on=last_day, settled_on=last_day)


@dataclass(frozen=True, slots=True)
class YearPart:
    """The part of a stay that falls in one plan year: its first and last day of care and the
    number of days counted for it."""

    year: int
    first_day: date
    last_day: date
    days: int


def split_days(rules: PlanYear, *, admitted_on: date, discharged_on: date) -> list[YearPart]:
    """The stay cut at each plan-year end. Days are counted as bed days (住院天数): the day of
    admission counts, the day of discharge does not, except a same-day stay that counts one day;
    the last part takes the discharge day. Parts are in date order."""
    parts: list[YearPart] = []
    day = admitted_on
    while True:
        year = plan_year_of(rules, day)
        _, year_end = plan_year_bounds(rules, year)
        if discharged_on <= year_end:
            days = max((discharged_on - day).days, 1 if not parts else 0)
            parts.append(YearPart(year, day, discharged_on, days))
            return parts
        parts.append(YearPart(year, day, year_end, (year_end - day).days + 1))
        day = year_end + timedelta(days=1)


def stage_start(rules: PlanYear, *, previous_end: date, discharged_on: date) -> date:
    """The first day of a later stage's bed days: the day the stage before it ended, or, when
    that day was the last of its plan year and this stage ends in a later one, the next plan
    year's first day. A stage settled at the plan-year end closed that year for the stay: its
    bill held the year's costs, so none of the next stage's is the old year's (counted from the
    last day, one bed day of the new year's bill fell into the old year, on a second
    per-admission deductible)."""
    _, last = plan_year_bounds(rules, plan_year_of(rules, previous_end))
    if previous_end == last and discharged_on > last:
        return last + timedelta(days=1)
    return previous_end
