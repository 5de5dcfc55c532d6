"""Indicators for a region and period, each one aggregate query over admissions, settlements
or the ledger.

Definitions (the period is calendar days in China time; reversed admissions and reversed
settlements are left out):
- eligible inpatients, no-deposit share: admissions at hospitals of the region eligible for
  pay-after-treatment (先诊疗后付费), whatever covered category made them so;
- one-stop share, actual reimbursement ratios, out-of-catalogue share: settlements at hospitals
  of the region, discharged in the period, of patients in a covered category (ratios weigh by
  fen). Covered, not pay-after-treatment eligible: a chronic outpatient visit is never the
  latter under a policy that waives deposits for inpatients only, yet the 80% target is
  about exactly those visits;
- in-county rate: admissions of people insured in the region, wherever they were treated;
- problems: the ledger's violations detected in the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth import Principal, Role
from service.auth.visibility import narrow_region, region_conditions
from service.base import table_of
from service.china_time import day_start, today
from service.errors import Forbidden, NotFound
from service.indicators.schemas import Indicators, LevelShare, Problems, Share
from service.indicators.targets import Part, TargetCatalog, held_to, target_parts
from service.regions.models import Hospital
from service.settlements.models import Settlement, SettlementReversal
from service.violations.models import ViolationStatus, violations_table
from service.violations.scope import ViolationFilter, scope_conditions

FOUR = Decimal("0.0001")

A: sa.Table = table_of(Admission)
S: sa.Table = table_of(Settlement)
R: sa.Table = table_of(SettlementReversal)
H: sa.Table = table_of(Hospital)


def share(num: Any, den: Any, target: Decimal | None = None) -> Share:
    n, d = int(num or 0), int(den or 0)
    value = (Decimal(n) / Decimal(d)).quantize(FOUR, ROUND_HALF_EVEN) if d else None
    meets = None if value is None or target is None else value >= target
    return Share(value=value, numerator=n, denominator=d, target=target, meets_target=meets)


def _period(column: Any, start: date | None, end: date | None) -> list[Any]:
    found = []
    if start is not None:
        found.append(column >= day_start(start))
    if end is not None:
        found.append(column < day_start(end + timedelta(days=1)))
    return found


def _in(column: Any, region: str | None) -> list[Any]:
    return region_conditions(column, region) if region else []


async def _one(session: AsyncSession, stmt: Any) -> Any:
    return (await session.exec(stmt)).one()


async def _admissions(
    session: AsyncSession, region: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    live = [A.c.state != "reversed", *_period(A.c.admitted_at, start, end)]
    eligible_inpatient = sa.and_(A.c.eligible.is_(True), A.c.visit_type == "inpatient")
    at_region = sa.select(
        sa.func.count().filter(eligible_inpatient),
        sa.func.count().filter(sa.and_(eligible_inpatient, A.c.deposit_taken_fen == 0)),
    ).where(*live, *_in(A.c.county_code, region))
    residents = sa.select(
        sa.func.count(), sa.func.count().filter(A.c.location == "in_county")
    ).where(*live, *_in(A.c.insured_county, region))
    eligible, no_deposit = await _one(session, at_region)
    treated, in_county = await _one(session, residents)
    return {
        "eligible_inpatients": int(eligible),
        "no_deposit_share": share(no_deposit, eligible),
        "in_county_rate": share(in_county, treated),
    }


# Whether the admission found the patient in a covered category (stored with the answer).
COVERED = A.c.eligibility["covered"].as_boolean()


def _settled(region: str | None, start: date | None, end: date | None) -> Any:
    """Settlements of covered patients at the region's hospitals, not reversed."""
    return (
        S.join(A, A.c.id == S.c.admission_id)
        .outerjoin(R, R.c.settlement_id == S.c.id)
        .join(H, H.c.code == S.c.hospital_code)
    ), [
        R.c.id.is_(None),
        COVERED == sa.true(),
        *_period(S.c.discharged_at, start, end),
        *_in(S.c.county_code, region),
    ]


VISIT_TYPES = ("inpatient", "chronic_outpatient")


def _ratios(region: str | None, start: date | None, end: date | None) -> Any:
    """Funds and cost (fen) by visit type of the settlements of the period."""
    joined, where = _settled(region, start, end)
    ratios = sa.select(A.c.visit_type, sa.func.sum(S.c.funds_total_fen), sa.func.sum(S.c.total_fen))
    return ratios.select_from(joined).where(*where).group_by(A.c.visit_type)


async def _by_type(session: AsyncSession, statement: Any) -> dict[str, tuple[int, int]]:
    rows = (await session.exec(statement)).all()
    return {t: (int(f or 0), int(c or 0)) for t, f, c in rows}


async def _ratio_shares(
    session: AsyncSession,
    region: str | None,
    start: date | None,
    end: date | None,
    parts: Sequence[Part],
) -> dict[str, Share]:
    """Each visit type's actual ratio over the period, against the targets of its parts
    (service/indicators/targets.py): one query, and one per part when the target changed."""
    whole = await _by_type(session, _ratios(region, start, end))
    if len(parts) <= 1:
        targets = parts[0].targets if parts else {}
        return {t: share(*whole.get(t, (0, 0)), targets.get(t)) for t in VISIT_TYPES}
    each = [(p.targets, await _by_type(session, _ratios(region, p.start, p.end))) for p in parts]
    shares = {}
    for t in VISIT_TYPES:
        held = held_to([(targets.get(t), *found.get(t, (0, 0))) for targets, found in each])
        plain = share(*whole.get(t, (0, 0)))
        met = held.met if plain.value is not None else None
        shares[t] = plain.model_copy(update={"target": held.target, "meets_target": met})
    return shares


async def _settlements(
    session: AsyncSession,
    region: str | None,
    start: date | None,
    end: date | None,
    parts: Sequence[Part],
) -> dict[str, Any]:
    joined, where = _settled(region, start, end)
    inpatient = A.c.visit_type == "inpatient"
    one_stop = (
        sa.select(
            sa.func.count().filter(sa.and_(inpatient, S.c.settlement_mode == "one_stop")),
            sa.func.count().filter(inpatient),
        )
        .select_from(joined)
        .where(*where)
    )
    in_policy_fen = sa.cast(S.c.result["inscp_scp_amt"].as_string(), sa.Numeric(16, 2)) * 100
    levels = sa.select(H.c.level, sa.func.sum(S.c.total_fen), sa.func.sum(in_policy_fen))
    levels = levels.select_from(joined).where(*where).group_by(H.c.level).order_by(H.c.level)
    settled_one_stop, inpatients = await _one(session, one_stop)
    ratios = await _ratio_shares(session, region, start, end, parts)
    by_level = (await session.exec(levels)).all()  # type: ignore[call-overload]
    return {
        "one_stop_share": share(settled_one_stop, inpatients),
        **{f"actual_ratio_{t}": ratios[t] for t in VISIT_TYPES},
        "out_of_catalogue_by_level": [
            LevelShare(level=level, share=share(int(total) - int(inside or 0), total))
            for level, total, inside in by_level
        ],
    }


async def _problems(
    session: AsyncSession, principal: Principal, wanted: ViolationFilter
) -> Problems:
    conditions = scope_conditions(principal, wanted)
    if conditions is None:
        return Problems(open=0, closed=0, by_status={})
    v = violations_table.c
    stmt = sa.select(v.status, sa.func.count()).where(*conditions).group_by(v.status)
    counts = {s: int(n) for s, n in (await session.exec(stmt)).all()}  # type: ignore[call-overload]
    closed = counts.get(ViolationStatus.VERIFIED.value, 0)
    return Problems(open=sum(counts.values()) - closed, closed=closed, by_status=counts)


async def indicators(
    session: AsyncSession,
    *,
    principal: Principal,
    region: str | None,
    start: date | None,
    end: date | None,
    parts: Sequence[Part] = (),
) -> Indicators:
    """`region` is already narrowed to the caller's scope (see scope.narrow_region)."""
    wanted = ViolationFilter(region=region, detected_from=start, detected_to=end)
    return Indicators(
        region=region,
        period_from=start,
        period_to=end,
        **await _admissions(session, region, start, end),
        **await _settlements(session, region, start, end, parts),
        problems=await _problems(session, principal, wanted),
    )


class RegionOutOfScope(NotFound):
    code = "region_out_of_scope"


class IndicatorsForbidden(Forbidden):
    code = "indicators_forbidden"


async def indicators_for(
    session: AsyncSession,
    *,
    principal: Principal,
    region: str | None,
    start: date | None,
    end: date | None,
    catalog: TargetCatalog | None = None,
) -> Indicators:
    """The caller's region (or the part of it asked for); another region is a 404.

    Indicators are region-wide figures: a hospital key has no region, so it gets none, whatever
    route it came through (the API's role check is the first line, this the last)."""
    if principal.role is Role.HOSPITAL:
        raise IndicatorsForbidden("indicators are for auditor and admin keys; yours is hospital")
    narrowed = narrow_region(principal, region)
    if narrowed is False:
        raise RegionOutOfScope(f"region {region} is outside your scope", field="region")
    parts: list[Part] = []
    if catalog is not None:
        parts = await target_parts(
            session, catalog, region=narrowed or None, start=start, end=end or today()
        )
    return await indicators(
        session, principal=principal, region=narrowed or None, start=start, end=end, parts=parts
    )
