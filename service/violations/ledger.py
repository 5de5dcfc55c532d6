"""The hash-chained ledger's entries: what a finding is, what the chain vouches for, and the
next entry after a chain head. Appending them is the violation store's
(service/violations/store.py), in the transaction of the admission or settlement that found
them, so a finding commits or rolls back with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from service.base import utcnow
from service.china_time import local_date
from service.digests import canonical_json
from service.violations.models import Violation, ViolationTransition


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
    event_on: date | None = None  # the date of the deposit, admission or discharge; None: booked


def event_date(finding: Finding) -> date:
    return finding.event_on or local_date(finding.detected_at)


def next_violation(finding: Finding, *, seq: int, prev_hash: str) -> Violation:
    """The violation that follows a chain head at `seq` with hash `prev_hash`."""
    violation = Violation(
        chain=finding.county_code,
        chain_seq=seq + 1,
        prev_hash=prev_hash,
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
        evidence=(
            finding.evidence
            if finding.event_on is None
            else {**finding.evidence, "event_on": finding.event_on.isoformat()}
        ),
        points_hundredths=points_to_hundredths(finding.points),
        policy_hash=finding.policy_hash,
        detected_at=finding.detected_at,
        event_on=event_date(finding),
        status="open",
        status_changed_at=finding.detected_at,
    )
    violation.entry_hash = chain_hash(prev_hash, violation_content(violation))
    return violation


def next_transition(
    violation: Violation,
    *,
    seq: int,
    prev_hash: str,
    to_status: str,
    actor: str,
    note: str,
    evidence_ref: str | None,
) -> ViolationTransition:
    """The status change of `violation` that follows a chain head at `seq`."""
    assert violation.id is not None
    transition = ViolationTransition(
        chain=violation.chain,
        chain_seq=seq + 1,
        prev_hash=prev_hash,
        entry_hash="",
        violation_id=violation.id,
        from_status=violation.status,
        to_status=to_status,
        actor=actor,
        note=note,
        evidence_ref=evidence_ref,
        at=utcnow(),
    )
    transition.entry_hash = chain_hash(prev_hash, transition_content(transition))
    return transition
