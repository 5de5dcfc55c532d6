"""The scoreboard (考核扣分): deduction points per county and hospital over a period, ranked.

One GROUP BY in SQL reduces the period's violations to one row per (county, hospital, rule,
status); the roll-up to counties and hospitals runs over those few rows in Python. The group
keys are the key of ix_violations_scoreboard, in its order, so PostgreSQL reads that index only,
rows arriving already grouped, and sums each group as it streams past: no hash table of every
group and no sort, however many rows (a short period may instead be read by date and hashed).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal
from service.regions.models import Hospital, Region
from service.violations.models import SCOREBOARD_KEYS, violations_table
from service.violations.schemas import Scoreboard, ScoreRow, points_of
from service.violations.scope import ViolationFilter, scope_conditions


@dataclass
class _Tally:
    code: str
    county_code: str
    hundredths: int = 0
    count: int = 0
    by_rule: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, rule: str, status: str, count: int, hundredths: int) -> None:
        self.hundredths += hundredths
        self.count += count
        self.by_rule[rule] += count
        self.by_status[status] += count


async def _groups(
    session: AsyncSession, principal: Principal, wanted: ViolationFilter
) -> list[sa.Row[tuple[str, str, str, str, int, int]]]:
    conditions = scope_conditions(principal, wanted)
    if conditions is None:
        return []
    v = violations_table.c
    keys = [v[name] for name in SCOREBOARD_KEYS]
    stmt = (
        sa.select(*keys, sa.func.count(), sa.func.coalesce(sa.func.sum(v.points_hundredths), 0))
        .where(*conditions)
        .group_by(*keys)
    )
    return list((await session.exec(stmt)).all())  # type: ignore[call-overload]


async def names(session: AsyncSession) -> dict[str, str]:
    """Region and hospital names by code."""
    regions = (await session.exec(select(Region.code, Region.name))).all()
    hospitals = (await session.exec(select(Hospital.code, Hospital.name))).all()
    return dict([*regions, *hospitals])


def _ranked(tallies: dict[str, _Tally], names: dict[str, str]) -> list[ScoreRow]:
    ordered = sorted(tallies.values(), key=lambda t: (-t.hundredths, -t.count, t.code))
    rows: list[ScoreRow] = []
    for i, t in enumerate(ordered):
        tied = rows and ordered[i - 1].hundredths == t.hundredths
        rows.append(
            ScoreRow(
                rank=rows[-1].rank if tied else i + 1,
                code=t.code,
                name=names.get(t.code, t.code),
                county_code=t.county_code,
                points=points_of(t.hundredths),
                count=t.count,
                by_rule=dict(sorted(t.by_rule.items())),
                by_status=dict(sorted(t.by_status.items())),
            )
        )
    return rows


async def scoreboard(
    session: AsyncSession, *, principal: Principal, wanted: ViolationFilter
) -> Scoreboard:
    counties: dict[str, _Tally] = {}
    hospitals: dict[str, _Tally] = {}
    for county, hospital, rule, status, count, hundredths in await _groups(
        session, principal, wanted
    ):
        counties.setdefault(county, _Tally(county, county)).add(rule, status, count, hundredths)
        hospitals.setdefault(hospital, _Tally(hospital, county)).add(
            rule, status, count, hundredths
        )
    known = await names(session)
    return Scoreboard(
        region=wanted.region,
        detected_from=wanted.detected_from,
        detected_to=wanted.detected_to,
        total_points=points_of(sum(t.hundredths for t in counties.values())),
        total_count=sum(t.count for t in counties.values()),
        counties=_ranked(counties, known),
        hospitals=_ranked(hospitals, known),
    )
