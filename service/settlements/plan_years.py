"""Which policy version and which plan year a settlement falls under (ADR 0018, docs/policy.md).

The version is first looked up on the discharge date; if that version's ``plan_year`` says the
admission or the settlement date chooses, it is looked up again on that date (a policy states
the rule for the settlements it would govern, so the version in force at discharge decides).
The accumulators' year is the plan year the discharge date falls in (service/settlements/
cross_year.py cuts a stay across a plan-year end when the policy splits).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from service.policy import CompiledPolicy
from service.policy.plan_year import rules_of, version_day


class Catalog(Protocol):
    async def for_region(
        self, session: AsyncSession, *, insured_region: str, on: date
    ) -> CompiledPolicy: ...


async def choose_policy(
    session: AsyncSession,
    catalog: Catalog,
    *,
    insured_region: str,
    admitted_on: date,
    discharged_on: date,
    settled_on: date,
) -> CompiledPolicy:
    """The version that governs a settlement of a stay admitted and discharged on these dates."""
    at_discharge = await catalog.for_region(
        session, insured_region=insured_region, on=discharged_on
    )
    day = version_day(
        rules_of(at_discharge),
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        settled_on=settled_on,
    )
    if day == discharged_on:
        return at_discharge
    return await catalog.for_region(session, insured_region=insured_region, on=day)
