"""The hash-chained ledger's entries: what a finding is, and the next entry after a chain head
(what the chain vouches for is service/violations/content.py). Appending them is the violation
store's (service/violations/store.py), in the transaction of the admission or settlement that
found them, so a finding commits or rolls back with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from service.base import utcnow
from service.china_time import local_date
from service.violations.content import record_hash
from service.violations.models import Violation, ViolationTransition


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
    """The violation that follows a chain head at `seq` with hash `prev_hash`, not yet hashed:
    its hash covers its id, which the store assigns (`seal`)."""
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
    return violation


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A status change asked of a violation, checked (rectification.py), as it is chained."""

    to_status: str
    actor: str
    note: str = ""
    evidence_ref: str | None = None


def next_transition(
    violation: Violation, change: StatusChange, *, seq: int, prev_hash: str
) -> ViolationTransition:
    """The status change of `violation` that follows a chain head at `seq`, not yet hashed."""
    assert violation.id is not None
    transition = ViolationTransition(
        chain=violation.chain,
        chain_seq=seq + 1,
        prev_hash=prev_hash,
        entry_hash="",
        violation_id=violation.id,
        from_status=violation.status,
        to_status=change.to_status,
        actor=change.actor,
        note=change.note,
        evidence_ref=change.evidence_ref,
        at=utcnow(),
    )
    return transition


def seal(record: Violation | ViolationTransition) -> str:
    """Hash a record once it has its id (hash format 2 covers the id, ADR 0013); the store
    calls this between inserting the record and moving the chain's head onto it."""
    record.entry_hash = record_hash(record)
    return record.entry_hash
