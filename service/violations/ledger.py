"""Appending to the hash-chained ledger. Callers pass their session: a finding commits or rolls
back with the admission or settlement that found it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.base import utcnow
from service.violations.content import canonical_json, record_hash
from service.violations.models import LedgerHead, Violation, ViolationTransition

__all__ = ["Finding", "append_transition", "book_violation", "canonical_json", "lock_head"]


async def lock_head(session: AsyncSession, chain: str) -> LedgerHead:
    """Create the chain's head if new, then lock it (row lock on PostgreSQL; SQLite writers
    are already serialised by BEGIN IMMEDIATE)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(LedgerHead).values(chain=chain).on_conflict_do_nothing()
    await session.exec(stmt)
    result = await session.exec(
        select(LedgerHead).where(LedgerHead.chain == chain).with_for_update()
    )
    head = result.one()
    await session.refresh(head)
    return head


def points_to_hundredths(points: Decimal) -> int:
    return int((points * 100).to_integral_value())


@dataclass(frozen=True, slots=True)
class Finding:
    """A broken rule ready to be booked."""

    rule_code: str
    hospital_code: str
    county_code: str
    source: str
    evidence: dict[str, Any]
    points: Decimal
    severity: str = "medium"
    visit_id: str | None = None
    person_key: str | None = None
    person_masked: str | None = None
    source_ref: str | None = None
    policy_hash: str | None = None
    detected_at: datetime = field(default_factory=utcnow)


async def book_violation(session: AsyncSession, finding: Finding) -> Violation:
    head = await lock_head(session, finding.county_code)
    violation = Violation(
        chain=finding.county_code,
        chain_seq=head.seq + 1,
        prev_hash=head.head_hash,
        entry_hash="",
        rule_code=finding.rule_code,
        severity=finding.severity,
        hospital_code=finding.hospital_code,
        county_code=finding.county_code,
        visit_id=finding.visit_id,
        person_key=finding.person_key,
        person_masked=finding.person_masked,
        source=finding.source,
        source_ref=finding.source_ref,
        evidence=finding.evidence,
        points_hundredths=points_to_hundredths(finding.points),
        policy_hash=finding.policy_hash,
        detected_at=finding.detected_at,
        status="open",
        status_changed_at=finding.detected_at,
    )
    await _chain(session, head, violation)
    return violation


async def _chain(
    session: AsyncSession, head: LedgerHead, record: Violation | ViolationTransition
) -> None:
    """Insert the record, then hash it with its id (format 2) and move the head onto it. The
    row is written twice inside the one transaction; no reader ever sees it unhashed."""
    session.add(record)
    await session.flush()
    record.entry_hash = record_hash(record)
    head.seq = record.chain_seq
    head.head_hash = record.entry_hash
    session.add(head)
    await session.flush()


async def append_transition(
    session: AsyncSession,
    violation: Violation,
    *,
    to_status: str,
    actor: str,
    note: str = "",
    evidence_ref: str | None = None,
) -> ViolationTransition:
    """Chain a status change and move the violation's status projection with it."""
    head = await lock_head(session, violation.chain)
    assert violation.id is not None
    at = utcnow()
    transition = ViolationTransition(
        chain=violation.chain,
        chain_seq=head.seq + 1,
        prev_hash=head.head_hash,
        entry_hash="",
        violation_id=violation.id,
        from_status=violation.status,
        to_status=to_status,
        actor=actor,
        note=note,
        evidence_ref=evidence_ref,
        at=at,
    )
    await session.exec(
        sa.update(Violation)
        .where(sa.column("id") == violation.id)
        .values(status=to_status, status_changed_at=at)
    )
    violation.status = to_status
    violation.status_changed_at = at
    await _chain(session, head, transition)
    return transition
