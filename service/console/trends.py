"""Month by month for the console's trend page: findings by rule, no-deposit compliance and the
actual reimbursement ratio against its target, for a region the caller may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.dates import FilterDay
from service.indicators.service import indicators_for
from service.regions.models import Region
from service.schemas import REGION_PREFIX, InputModel
from service.violations.models import violations_table
from service.violations.scope import ViolationFilter, scope_conditions


@dataclass(frozen=True, slots=True)
class Month:
    first: date
    last: date

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"


def last_months(until: date, count: int = 12) -> list[Month]:
    """The `count` calendar months ending with the one `until` falls in, oldest first."""
    months = []
    first = until.replace(day=1)
    for _ in range(count):
        following = (first + timedelta(days=32)).replace(day=1)
        months.append(Month(first, following - timedelta(days=1)))
        first = (first - timedelta(days=1)).replace(day=1)
    return months[::-1]


@dataclass
class Trends:
    months: list[Month]
    no_deposit: list[Decimal | None] = field(default_factory=list)
    actual_ratio: list[Decimal | None] = field(default_factory=list)
    # each month's inpatient target: the policy's in force on the month's last day, so a target
    # changed at New Year is drawn from January, not over the year before
    targets: list[Decimal | None] = field(default_factory=list)
    by_rule: dict[str, list[int]] = field(default_factory=dict)

    def target_runs(self) -> list[tuple[int, int, Decimal]]:
        """(first month's index, last month's index, target) of each run of months held to the
        same target; a month without one is in no run."""
        runs: list[tuple[int, int, Decimal]] = []
        for i, target in enumerate(self.targets):
            if target is None:
                continue
            if runs and runs[-1][1] == i - 1 and runs[-1][2] == target:
                runs[-1] = (runs[-1][0], i, target)
            else:
                runs.append((i, i, target))
        return runs


async def trends(
    session: AsyncSession,
    *,
    principal: Principal,
    region: str | None,
    until: date,
    catalog: Any,
    count: int = 12,
) -> Trends:
    result = Trends(months=last_months(until, count))
    for i, month in enumerate(result.months):
        ind = await indicators_for(
            session,
            principal=principal,
            region=region,
            start=month.first,
            end=month.last,
            catalog=catalog,
        )
        result.no_deposit.append(ind.no_deposit_share.value)
        result.actual_ratio.append(ind.actual_ratio_inpatient.value)
        result.targets.append(ind.actual_ratio_inpatient.target)
        for rule, n in (await _findings_by_rule(session, principal, region, month)).items():
            result.by_rule.setdefault(rule, [0] * len(result.months))[i] = n
    return result


async def _findings_by_rule(
    session: AsyncSession, principal: Principal, region: str | None, month: Month
) -> dict[str, int]:
    wanted = ViolationFilter(region=region, detected_from=month.first, detected_to=month.last)
    conditions = scope_conditions(principal, wanted)
    if conditions is None:
        return {}
    rule = violations_table.c.rule_code
    stmt = sa.select(rule, sa.func.count()).where(*conditions).group_by(rule)
    rows = await session.exec(stmt)  # type: ignore[call-overload]
    return {code: int(n) for code, n in rows.all()}


class TrendQuery(InputModel):
    region: str | None = Field(default=None, pattern=REGION_PREFIX)
    until: FilterDay | None = Field(default=None, description="A day of the last month shown")


async def counties_under(
    session: AsyncSession, principal: Principal, region: str | None
) -> list[tuple[str, str]]:
    """The counties one level down that the caller may see (for drilling down)."""
    own = principal.region_prefix if principal.role is Role.AUDITOR else None
    if principal.role is Role.HOSPITAL or (region and len(region) == 6):
        return []
    prefix = region or own or ""
    if own and not prefix.startswith(own):
        return []
    stmt = (
        select(Region.code, Region.name)
        .where(Region.level == "county", col(Region.code).startswith(prefix))
        .order_by(col(Region.code))
    )
    return [(code, name) for code, name in (await session.exec(stmt)).all()]
