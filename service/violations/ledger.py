"""Appending to the hash-chained ledger. Callers pass their session: a finding commits or rolls
back with the admission or settlement that found it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.base import utcnow
from service.digests import canonical_json
from service.violations.models import LedgerHead, Violation, ViolationTransition


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def violation_content(v: Violation) -> dict[str, Any]:
    """The fields the chain vouches for: everything but the status projection."""
    return {
        "kind": "violation",
        "chain": v.chain,
        "seq": v.chain_seq,
        "rule_code": v.rule_code,
        "severity": v.severity,
        "hospital_code": v.hospital_code,
        "county_code": v.county_code,
        "visit_id": v.visit_id,
        "person_key": v.person_key,
        "person_masked": v.person_masked,
        "source": v.source,
        "source_ref": v.source_ref,
        "evidence": v.evidence,
        "points_hundredths": v.points_hundredths,
        "policy_hash": v.policy_hash,
        "detected_at": _iso(v.detected_at),
    }


def transition_content(t: ViolationTransition) -> dict[str, Any]:
    return {
        "kind": "transition",
        "chain": t.chain,
        "seq": t.chain_seq,
        "violation_id": t.violation_id,
        "from_status": t.from_status,
        "to_status": t.to_status,
        "actor": t.actor,
        "note": t.note,
        "evidence_ref": t.evidence_ref,
        "at": _iso(t.at),
    }


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
    violation.entry_hash = chain_hash(head.head_hash, violation_content(violation))
    head.seq = violation.chain_seq
    head.head_hash = violation.entry_hash
    session.add(violation)
    session.add(head)
    await session.flush()
    return violation


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
    transition.entry_hash = chain_hash(head.head_hash, transition_content(transition))
    head.seq = transition.chain_seq
    head.head_hash = transition.entry_hash
    await session.exec(
        sa.update(Violation)
        .where(sa.column("id") == violation.id)
        .values(status=to_status, status_changed_at=at)
    )
    violation.status = to_status
    violation.status_changed_at = at
    session.add(transition)
    session.add(head)
    await session.flush()
    return transition
