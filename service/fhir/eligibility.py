"""CoverageEligibilityRequest → CoverageEligibilityResponse over the person-status service:
each covered category and its validity period is a coverage, the deposit waiver (先诊疗后付费)
a benefit, the answer's source and as-of are extensions. Nothing is stored or booked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.service import AdmissionContext
from service.auth import Principal
from service.base import utcnow
from service.china_time import local_date, today
from service.fhir import systems
from service.fhir.errors import UnsupportedContent
from service.fhir.institution import refuse_another_hospital
from service.identity import identify
from service.idtext import mask_resident_ids_in, refuse_resident_id
from service.persons.status import PersonStatusPublic, person_status

PATIENT = "CoverageEligibilityRequest.patient.identifier"
SERVICED = "CoverageEligibilityRequest.servicedDate"


def _resident_id(request: CoverageEligibilityRequest) -> str:
    identifier = request.patient.identifier
    if identifier is None or identifier.system != systems.RESIDENT_ID or not identifier.value:
        raise UnsupportedContent(
            f"identify the patient by patient.identifier with system {systems.RESIDENT_ID}",
            field=PATIENT,
        )
    return str(identifier.value)


def _as_of(request: CoverageEligibilityRequest, ctx: AdmissionContext) -> date:
    if request.servicedPeriod is not None:
        # serviced[x] may be a period: read as "no servicedDate" it was answered for today,
        # whatever days it named (2016-2017 answered with today's categories).
        raise UnsupportedContent(
            "send servicedDate (one day): status is judged for one day, not a period",
            field="CoverageEligibilityRequest.servicedPeriod",
        )
    served = request.servicedDate
    if served is None:
        return today()
    if isinstance(served, datetime):
        served = local_date(served) if served.tzinfo is not None else served.date()
    if not isinstance(served, date):
        # FHIR allows "2026" and "2026-11" (kept as text); a status is judged for one day.
        raise UnsupportedContent(
            "servicedDate must be a full date (YYYY-MM-DD): status is judged for one day",
            field=SERVICED,
        )
    # The same window as the JSON API's `on` (service/dates.py): 2999 would be judged otherwise.
    return ctx.window.day(served, field=SERVICED)


async def check(
    session: AsyncSession,
    *,
    ctx: AdmissionContext,
    principal: Principal,
    request: CoverageEligibilityRequest,
) -> CoverageEligibilityResponse:
    raw = _resident_id(request)
    _refuse_ids_in_identifiers(request)
    if principal.hospital_code is not None:  # an auditor's request names no hospital of its own
        refuse_another_hospital(
            request.provider,
            hospital_code=principal.hospital_code,
            field="CoverageEligibilityRequest.provider",
        )
    on = _as_of(request, ctx)
    status = await person_status(session, ctx=ctx, principal=principal, id_number=raw, on=on)
    _, resident = identify(ctx.hasher, raw)
    patient = {
        "identifier": {"system": systems.PERSON_KEY, "value": resident.person_key},
        "display": status.person_masked,
    }
    return CoverageEligibilityResponse.model_validate(
        {
            "status": "active",
            "purpose": [p for p in request.purpose or [] if p],
            "patient": patient,
            "servicedDate": on.isoformat(),
            "created": utcnow().isoformat(),
            "request": _request_reference(request),
            "outcome": "complete" if status.registered is not None else "partial",
            "disposition": _disposition(status),
            "insurer": mask_resident_ids_in(
                request.insurer.model_dump(mode="json", exclude_none=True)
            ),
            "contained": [_coverage(c, patient, status) for c in status.categories],
            "insurance": _insurance(status),
            "extension": _extensions(status),
        }
    )


def _refuse_ids_in_identifiers(request: CoverageEligibilityRequest) -> None:
    """The patient's ID number belongs in patient.identifier only: identifiers echoed back
    carrying one are refused, as the JSON API refuses them (service/idtext.py)."""
    for index, identifier in enumerate(request.identifier or []):
        if identifier.value:
            field = f"CoverageEligibilityRequest.identifier[{index}].value"
            refuse_resident_id(str(identifier.value), field=field)
    insurer = request.insurer.identifier if request.insurer else None
    if insurer is not None and insurer.value:
        field = "CoverageEligibilityRequest.insurer.identifier.value"
        refuse_resident_id(str(insurer.value), field=field)


def _request_reference(request: CoverageEligibilityRequest) -> dict[str, Any]:
    if request.identifier:
        first = request.identifier[0]
        return {
            "identifier": mask_resident_ids_in(first.model_dump(mode="json", exclude_none=True))
        }
    return {"display": "CoverageEligibilityRequest (not stored)"}


def _disposition(status: PersonStatusPublic) -> str:
    answer = status.pay_after_treatment
    if answer.eligible is None:
        return "status or policy unknown: " + ", ".join(answer.reasons)
    verdict = "no deposit (先诊疗后付费)" if answer.eligible else "a deposit may be asked"
    return f"{verdict}: " + ", ".join(answer.reasons)


def _contained_id(category: str) -> str:
    return "category-" + category.replace("_", "-")  # FHIR ids: letters, digits, - and .


def _coverage(category: Any, patient: dict[str, Any], status: PersonStatusPublic) -> dict[str, Any]:
    period = {"start": category.valid_from.isoformat()}
    if category.valid_to is not None:
        period["end"] = category.valid_to.isoformat()
    return {
        "resourceType": "Coverage",
        "id": _contained_id(category.code),
        "status": "active",
        "type": {
            "coding": [
                {"system": systems.CATEGORY, "code": category.code, "display": category.name}
            ]
        },
        "beneficiary": patient,
        "payor": [{"display": f"insured county {status.insured_county}"}],
        "period": period,
    }


def _insurance(status: PersonStatusPublic) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {"coverage": {"reference": "#" + _contained_id(c.code)}, "inforce": True}
        for c in status.categories
    ]
    if entries and status.pay_after_treatment.eligible:
        entries[0]["item"] = [_deposit_waiver(status)]
    return entries


def _deposit_waiver(status: PersonStatusPublic) -> dict[str, Any]:
    return {
        "category": {
            "coding": [
                {
                    "system": systems.BENEFIT,
                    "code": "pay-after-treatment",
                    "display": "先诊疗后付费: admission without a deposit",
                }
            ]
        },
        "benefit": [
            {
                "type": {"coding": [{"system": systems.BENEFIT_TYPE, "code": "benefit"}]},
                "allowedString": "deposit waived; reasons: "
                + ", ".join(status.pay_after_treatment.reasons),
            }
        ],
    }


def _extensions(status: PersonStatusPublic) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = [
        {"url": systems.EXT_SOURCE, "valueCode": status.source.kind}
    ]
    if status.source.answered_at is not None:
        as_of = status.source.answered_at.astimezone(UTC).isoformat()
        extensions.append({"url": systems.EXT_AS_OF, "valueDateTime": as_of})
    extensions.extend(
        {
            "url": "urn:settlecheck:ext:warning",
            "valueCoding": {"system": systems.WARNING, "code": w.code, "display": w.message},
        }
        for w in status.warnings
    )
    return extensions
