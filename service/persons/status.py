"""`GET /v1/persons/{id}/status`: a quick eligibility check without an admission. Nothing is
recorded and nothing is booked; warnings are shown, not filed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.responses import categories_public, source_public
from service.admissions.rules import Assessment, assess, source_notices
from service.admissions.schemas import (
    CategoryPublic,
    NoticePublic,
    PayAfterTreatment,
    PolicyRef,
    SourcePublic,
)
from service.admissions.service import AdmissionContext
from service.auth import Principal, Role
from service.china_time import today
from service.errors import NotFound
from service.identity import identify
from service.persons.person_status import PersonStatus
from service.persons.service import recalled, resolve_status
from service.persons.snapshot import snapshot_in_date
from service.policy import CompiledPolicy, Visit
from service.policy_versions.errors import NoPolicyInForce
from service.regions.service import in_pooling_region, location_of
from service.registry.schemas import PersonRecord
from service.unit_of_work import reading


class PersonNotFound(NotFound):
    code = "person_not_found"


class FamilyDoctorPublic(BaseModel):
    contracted: bool
    valid_to: date | None


class PersonStatusPublic(BaseModel):
    person_masked: str
    on: date
    registered: bool | None
    covered: bool | None
    deceased: bool | None
    insured_county: str | None
    categories: list[CategoryPublic]
    family_doctor: FamilyDoctorPublic | None
    chronic_card_valid_to: date | None
    pay_after_treatment: PayAfterTreatment
    assumed_visit: str
    warnings: list[NoticePublic]
    source: SourcePublic
    policy: PolicyRef | None


@dataclass(frozen=True, slots=True)
class StatusReader:
    """Answers the quick status check from the app's sessions and admission context: the route
    takes it as its one dependency besides the key."""

    sessions: async_sessionmaker[Any]
    ctx: AdmissionContext

    async def status(
        self, principal: Principal, id_number: str, on: date | None
    ) -> PersonStatusPublic:
        day = today() if on is None else self.ctx.window.day(on, field="on")
        # Warm, the person, the policy and the hospital come from memory: no session is opened.
        async with reading(self.sessions) as session:
            return await person_status(
                session, ctx=self.ctx, principal=principal, id_number=id_number, on=day
            )


async def person_status(
    session: AsyncSession, *, ctx: AdmissionContext, principal: Principal, id_number: str, on: date
) -> PersonStatusPublic:
    warm = recalled(ctx.lookup, ctx.hasher, id_number)
    if warm is not None:
        masked, status = warm
    else:
        normalised, resident = identify(ctx.hasher, id_number)
        status = await resolve_status(
            session, lookup=ctx.lookup, id_number=normalised, person_key=resident.person_key
        )
        masked = resident.masked
    record = status.record
    if principal.role is Role.AUDITOR and (
        status.registered is False
        or (record is not None and not principal.sees_region(record.insured_county))
    ):
        # One answer for "registered outside your region" and "not registered": an auditor
        # learns neither of a person outside its region.
        raise PersonNotFound("no such person in your region")
    policy = await _policy(session, ctx, record, on)
    if policy is not None:
        in_date = snapshot_in_date(status, policy=policy, on=on)
        if in_date is not status:
            # Too old on that day to confirm cover: it says nothing (ADR 0011, addendum).
            status, record, policy = in_date, None, None
    assessment, assumed = None, "none: the person's status or policy is unknown"
    if policy is not None and record is not None:
        visit, assumed = await _assumed_visit(session, ctx, principal, record, on, policy)
        assessment = assess(
            status=status,
            policy=policy,
            visit=visit,
            reported_county=record.insured_county,
            deposit_intended_fen=0,
        )
    return _public(masked, on, status, policy, assessment, assumed)


async def _policy(
    session: AsyncSession, ctx: AdmissionContext, record: PersonRecord | None, on: date
) -> CompiledPolicy | None:
    if record is None:
        return None
    try:
        return await ctx.catalog.for_region(session, insured_region=record.insured_county, on=on)
    except NoPolicyInForce:
        return None


async def _assumed_visit(
    session: AsyncSession,
    ctx: AdmissionContext,
    principal: Principal,
    record: PersonRecord,
    on: date,
    policy: CompiledPolicy,
) -> tuple[Visit, str]:
    """An inpatient admission at the calling hospital, or at a designated county hospital of
    the person's own county for auditors and admins."""
    level, tier, designated, location = "secondary", "county", True, "in_county"
    label = "inpatient, at a designated county hospital in the insured county"
    if principal.role is Role.HOSPITAL and principal.hospital_code:
        hospital = await ctx.hospitals.get(session, principal.hospital_code)
        level, tier, designated = hospital.level, hospital.tier, hospital.designated
        location = location_of(
            hospital_county=hospital.county_code, insured_county=record.insured_county
        )
        label = f"inpatient, at hospital {hospital.code}, without referral"
        pooled = in_pooling_region(
            policy,
            location=location,
            hospital_county=hospital.county_code,
            insured_county=record.insured_county,
        )
    else:
        pooled = True
    visit = Visit(
        "inpatient", level, tier, location, False, designated, on, on, in_pooling_region=pooled
    )
    return visit, label


def _public(
    masked: str,
    on: date,
    status: PersonStatus,
    policy: CompiledPolicy | None,
    assessment: Assessment | None,
    assumed: str,
) -> PersonStatusPublic:
    """The answer, validated once: its own parts are given as dicts, which pydantic validates
    into their models inside the one call (each model built apart is a Python call more)."""
    record = status.record
    cards = [c.valid_to for c in record.chronic_cards] if record else []
    doctor = record.family_doctor if record else None
    return PersonStatusPublic.model_validate(
        {
            "person_masked": masked,
            "on": on,
            "registered": status.registered,
            "covered": assessment.covered if assessment else _covered_without_policy(status),
            "deceased": record.deceased if record else None,
            "insured_county": record.insured_county if record else None,
            "categories": categories_public(assessment, policy) if assessment and policy else [],
            "family_doctor": {"contracted": doctor.contracted, "valid_to": doctor.valid_to}
            if doctor
            else None,
            "chronic_card_valid_to": max(cards, default=None),
            "pay_after_treatment": _eligibility(status, assessment),
            "assumed_visit": assumed,
            "warnings": _warnings(status, assessment),
            "source": source_public(status),
            "policy": {
                "region_code": policy.region_code,
                "version": policy.version,
                "content_hash": policy.content_hash,
            }
            if policy
            else None,
        }
    )


def _eligibility(status: PersonStatus, assessment: Assessment | None) -> dict[str, Any]:
    """PayAfterTreatment's fields."""
    if assessment is not None:
        return {"eligible": assessment.eligible, "reasons": list(assessment.reasons)}
    if not status.known:
        code = status.unknown_code
        return {"eligible": None, "reasons": ["STATUS_UNKNOWN", *([code] if code else [])]}
    if status.record is None:
        return {"eligible": False, "reasons": ["NOT_REGISTERED"]}
    return {"eligible": None, "reasons": ["NO_POLICY_IN_FORCE"]}


def _warnings(status: PersonStatus, assessment: Assessment | None) -> list[dict[str, str]]:
    """The assessment's notices (NoticePublic's fields); without one (no policy in force, or
    the status unknown) at least where the answer came from and why it is unknown."""
    if assessment is not None:
        return [{"code": n.code, "message": n.message} for n in assessment.notices]
    notices = [{"code": n.code, "message": n.message} for n in source_notices(status)]
    if not status.known:
        message = f"Eligibility cannot be determined: {status.unknown_reason}. Confirm the "
        message += "status before taking any deposit."
        notices.append({"code": "STATUS_UNKNOWN", "message": message})
    return notices


def _covered_without_policy(status: PersonStatus) -> bool | None:
    return False if status.known and status.record is None else None
