"""What the chain vouches for: each record's hashed content, and how every column of the
ledger's tables is covered (ADR 0013).

Two hash formats live side by side. Format 1 (before 2026-11-29) left the records' ids out, so
swapping two violations' ids went unseen; format 2 adds `v: 2` and the id. Records written in
format 1 keep their hashes (a county's exported heads stay valid): verify accepts format 1 only
for a chain's first records, before its first format-2 record, and checks their ids by order.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from service.china_time import local_date
from service.digests import canonical_json
from service.violations.models import Violation, ViolationTransition

HASH_FORMAT = 2
LEGACY_FORMAT = 1


class Cover(StrEnum):
    HASHED = "hashed"  # part of the record's hashed content
    LINK = "link"  # prev_hash and entry_hash: the chain itself
    DERIVED = "derived"  # recomputed by verify from hashed records and compared


VIOLATION_COVER: dict[str, Cover] = {
    "id": Cover.HASHED,  # format 2; format 1: ids must rise with chain_seq
    "chain": Cover.HASHED,
    "chain_seq": Cover.HASHED,
    "prev_hash": Cover.LINK,
    "entry_hash": Cover.LINK,
    "rule_code": Cover.HASHED,
    "severity": Cover.HASHED,
    "hospital_code": Cover.HASHED,
    "county_code": Cover.HASHED,
    "visit_id": Cover.HASHED,
    "person_key": Cover.HASHED,
    "person_masked": Cover.HASHED,
    "source": Cover.HASHED,
    "source_ref": Cover.HASHED,
    "evidence": Cover.HASHED,
    "points_hundredths": Cover.HASHED,
    "policy_hash": Cover.HASHED,
    "detected_at": Cover.HASHED,
    "status": Cover.DERIVED,  # the latest transition's to_status, or "open"
    "status_changed_at": Cover.DERIVED,  # the latest transition's at, or detected_at
    "event_on": Cover.DERIVED,  # evidence["event_on"], or the China date of detected_at
}
TRANSITION_COVER: dict[str, Cover] = {
    "id": Cover.HASHED,  # format 2; format 1: ids must rise with chain_seq
    "chain": Cover.HASHED,
    "chain_seq": Cover.HASHED,
    "prev_hash": Cover.LINK,
    "entry_hash": Cover.LINK,
    "violation_id": Cover.HASHED,  # and: a violation of the same chain, booked before
    "from_status": Cover.HASHED,  # and: the previous to_status of its violation, or "open"
    "to_status": Cover.HASHED,
    "actor": Cover.HASHED,
    "note": Cover.HASHED,
    "evidence_ref": Cover.HASHED,
    "at": Cover.HASHED,
}


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()


def _iso(at: datetime, version: int) -> str:
    # Format 2 reads every instant in UTC, however the caller's datetime was zoned.
    return (at if version == LEGACY_FORMAT else at.astimezone(UTC)).isoformat(
        timespec="microseconds"
    )


def _versioned(content: dict[str, Any], record_id: int | None, version: int) -> dict[str, Any]:
    if version == LEGACY_FORMAT:
        return content
    if record_id is None:
        raise ValueError("a format-2 record is hashed after its id is assigned")
    return content | {"v": version, "id": record_id}


def derived_event_on(v: Violation) -> date:
    """What a violation's event date must be: the hashed evidence names it (a deposit, an
    admission or a discharge); a finding about nothing dated takes the day it was booked."""
    named = v.evidence.get("event_on") if isinstance(v.evidence, dict) else None
    return date.fromisoformat(named) if isinstance(named, str) else local_date(v.detected_at)


def violation_content(v: Violation, version: int = HASH_FORMAT) -> dict[str, Any]:
    """The fields the chain vouches for: everything but the status projection."""
    content = {
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
        "detected_at": _iso(v.detected_at, version),
    }
    return _versioned(content, v.id, version)


def transition_content(t: ViolationTransition, version: int = HASH_FORMAT) -> dict[str, Any]:
    content = {
        "kind": "transition",
        "chain": t.chain,
        "seq": t.chain_seq,
        "violation_id": t.violation_id,
        "from_status": t.from_status,
        "to_status": t.to_status,
        "actor": t.actor,
        "note": t.note,
        "evidence_ref": t.evidence_ref,
        "at": _iso(t.at, version),
    }
    return _versioned(content, t.id, version)


def record_hash(record: Violation | ViolationTransition, version: int = HASH_FORMAT) -> str:
    if isinstance(record, Violation):
        return chain_hash(record.prev_hash, violation_content(record, version))
    return chain_hash(record.prev_hash, transition_content(record, version))


def hash_format(record: Violation | ViolationTransition) -> int | None:
    """The format whose hash the record carries, or None when neither matches (an edit)."""
    for version in (HASH_FORMAT, LEGACY_FORMAT):
        if record.id is not None and record_hash(record, version) == record.entry_hash:
            return version
    return None
