"""The admission's public body, built once and stored: a retry gets exactly these bytes back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.admissions.models import Admission
from service.admissions.rules import Assessment
from service.admissions.schemas import (
    AdmissionDetail,
    AdmissionPublic,
    CategoryPublic,
    NoticePublic,
    PayAfterTreatment,
    PolicyRef,
    SourcePublic,
    ViolationRef,
)
from service.base import utcnow
from service.money import fen_to_yuan
from service.persons.person_status import PersonStatus
from service.policy import CompiledPolicy


def source_public(status: PersonStatus) -> SourcePublic:
    return SourcePublic(
        kind=status.source.value,
        answered_at=status.answered_at,
        snapshot_taken_at=status.snapshot_taken_at,
        snapshot_age_seconds=status.snapshot_age_seconds(utcnow()),
        registry_problem=status.registry_problem,
        unknown_reason=status.unknown_reason,
    )


def categories_public(assessment: Assessment, policy: CompiledPolicy) -> list[CategoryPublic]:
    return [
        CategoryPublic(
            code=c.code,
            name=policy.categories.get(c.code),
            valid_from=c.valid_from,
            valid_to=c.valid_to,
        )
        for c in assessment.categories
    ]


def admission_body(
    admission: Mapping[str, Any],
    *,
    assessment: Assessment,
    policy: CompiledPolicy,
    status: PersonStatus,
    violations: list[tuple[int, str, str]],
) -> dict[str, Any]:
    """The answer to the HIS, from the admission's column values."""
    allowed = admission["deposit_allowed_fen"]
    public = AdmissionPublic(
        visit_id=admission["visit_id"],
        hospital_code=admission["hospital_code"],
        county_code=admission["county_code"],
        person_masked=admission["person_masked"],
        name_masked=admission["name_masked"],
        admitted_at=admission["admitted_at"],
        visit_type=admission["visit_type"],
        insured_county=admission["insured_county"],
        location=admission["location"],
        referred=admission["referred"],
        registered=status.registered,
        covered=assessment.covered,
        categories=categories_public(assessment, policy),
        pay_after_treatment=PayAfterTreatment(
            eligible=assessment.eligible, reasons=list(assessment.reasons)
        ),
        deposit_intended=fen_to_yuan(admission["deposit_intended_fen"]),
        deposit_allowed=fen_to_yuan(allowed) if allowed is not None else None,
        deposit_allowed_fen=allowed,
        deposit_basis=assessment.deposit_basis,
        deposit_explanation=assessment.deposit_explanation,
        warnings=[NoticePublic(code=n.code, message=n.message) for n in assessment.notices],
        source=source_public(status),
        policy=PolicyRef(
            region_code=policy.region_code, version=policy.version, content_hash=policy.content_hash
        ),
        violations=[ViolationRef(id=i, rule_code=r, points=p) for i, r, p in violations],
        state=admission["state"],
        created_at=admission["created_at"],
    )
    return public.model_dump(mode="json")


def admission_detail(admission: Admission) -> AdmissionDetail:
    """The stored answer plus what changed since (deposits, reversal)."""
    return AdmissionDetail.model_validate(
        admission.response
        | {
            "state": admission.state,
            "deposit_taken": fen_to_yuan(admission.deposit_taken_fen),
            "reversed_at": admission.reversed_at,
            "reversal_reason": admission.reversal_reason,
        }
    )
