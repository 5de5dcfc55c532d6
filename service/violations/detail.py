"""One violation as a caller sees it: evidence, history and the changes it may make."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal
from service.violations.models import Violation
from service.violations.query import history
from service.violations.rectification import allowed_next
from service.violations.schemas import TransitionPublic, ViolationDetail, ViolationPublic


async def violation_detail(
    session: AsyncSession, *, principal: Principal, violation: Violation
) -> ViolationDetail:
    assert violation.id is not None
    transitions = await history(session, violation.id)
    return ViolationDetail(
        **ViolationPublic.of(violation).model_dump(),
        evidence=violation.evidence,
        policy_hash=violation.policy_hash,
        prev_hash=violation.prev_hash,
        entry_hash=violation.entry_hash,
        transitions=[TransitionPublic.of(t) for t in transitions],
        allowed_transitions=allowed_next(principal, violation),
    )
