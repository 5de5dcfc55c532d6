"""The targets a period is held to, when the policy changed them inside the period.

A target (实际报销比例 90%) is the policy's, in force from its version's first day. A period
that crosses a change is cut at each version boundary into parts, each held to the targets of
the version in force on its last day (as one month of the trends page is); adjacent parts with
the same targets are one part, so a period without a change is one part, one query, as before.
The period's target for a ratio is then what its parts' targets ask of the period's cost:
Σ target × cost / Σ cost over the parts that have a target for that visit type, and it is met
when the funds those parts paid reach Σ target × cost (exactly, in fen; the target shown is
rounded to four places). Parts without a target are left out of both (ADR 0019, update).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from service.errors import ServiceError
from service.policy import CompiledPolicy

FOUR = Decimal("0.0001")
DAY = timedelta(days=1)


class TargetCatalog(Protocol):
    """What the targets read of the policy catalog (service/policy_versions/catalog.py)."""

    async def for_region(
        self, session: AsyncSession, *, insured_region: str, on: date
    ) -> CompiledPolicy: ...

    async def policies(self, session: AsyncSession) -> list[CompiledPolicy]: ...


@dataclass(frozen=True, slots=True)
class Part:
    """Days of a period (start None: from the first) held to one set of targets."""

    start: date | None
    end: date
    targets: Mapping[str, Decimal]


async def targets_for(
    session: AsyncSession, catalog: TargetCatalog, *, region: str | None, on: date
) -> Mapping[str, Decimal]:
    """The reimbursement targets of the policy in force for the region (its first county when a
    prefix). A visit type the policy sets no target for has none: the figure is shown without
    one rather than against a number the province never adopted."""
    if not region:
        return {}
    try:
        policy = await catalog.for_region(session, insured_region=region.ljust(6, "0"), on=on)
    except ServiceError:
        return {}
    return dict(policy.controls.target_ratio)


def _boundaries(policy: CompiledPolicy) -> list[date]:
    """The days a version's targets start or stop applying."""
    ends = [policy.effective_to + DAY] if policy.effective_to is not None else []
    return [policy.effective_from, *ends]


async def target_parts(
    session: AsyncSession,
    catalog: TargetCatalog,
    *,
    region: str | None,
    start: date | None,
    end: date,
) -> list[Part]:
    """The period cut where the region's targets change (no region: no targets, no parts)."""
    if not region:
        return []
    cuts = sorted(
        {
            day
            for policy in await catalog.policies(session)
            for day in _boundaries(policy)
            if (start is None or start < day) and day <= end
        }
    )
    parts: list[Part] = []
    first = start
    for cut in [*cuts, end + DAY]:
        last = cut - DAY
        targets = await targets_for(session, catalog, region=region, on=last)
        if parts and parts[-1].targets == targets:
            parts[-1] = Part(parts[-1].start, last, targets)
        else:
            parts.append(Part(first, last, targets))
        first = cut
    return parts


@dataclass(frozen=True, slots=True)
class Held:
    """A period's target for one ratio and whether it was met (None: nothing to measure)."""

    target: Decimal | None
    met: bool | None


def held_to(parts: Sequence[tuple[Decimal | None, int, int]]) -> Held:
    """The period's target from its parts' (target, funds fen, cost fen)."""
    targeted = [(t, funds, cost) for t, funds, cost in parts if t is not None]
    if not targeted:
        return Held(None, None)
    cost = sum(c for _, _, c in targeted)
    if not cost:  # nothing settled under a target: the latest target, nothing to meet
        return Held(targeted[-1][0], None)
    asked = sum((t * c for t, _, c in targeted), Decimal(0))
    return Held((asked / cost).quantize(FOUR), sum(f for _, f, _ in targeted) >= asked)
