"""Admitting a patient: resolve the person's status, decide pay-after-treatment under the policy
in force, record the answer once per (hospital, visit id), book findings in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.errors import AdmissionConflict, AdmissionNotFound
from service.admissions.models import Admission, AdmissionEvent
from service.admissions.rules import Assessment, assess
from service.admissions.schemas import AdmissionCreate
from service.admissions.views import admission_body
from service.base import utcnow
from service.db import insert_unless_exists
from service.identity import IdHasher, ResidentId, mask_name, normalise_resident_id
from service.persons.answers import PersonStatus
from service.persons.service import Lookup, resolve_status
from service.policy import CompiledPolicy, Visit, points_for
from service.policy_versions.catalog import PolicyCatalog
from service.receivables.store import is_marked
from service.regions.directory import HospitalDirectory, HospitalRef
from service.regions.service import location_of
from service.violations.ledger import Finding, book_violation, canonical_json

log = logging.getLogger("settlecheck.admissions")
CHINA_TIME = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class Recorded:
    body: dict[str, Any]
    replayed: bool


@dataclass(frozen=True, slots=True)
class AdmissionContext:
    """What the app hands the service: how to look a person up, the policies, the hasher."""

    lookup: Lookup
    catalog: PolicyCatalog
    hospitals: HospitalDirectory
    hasher: IdHasher


def local_date(at: datetime) -> date:
    """The calendar day in China of an aware timestamp (policies and validity windows are dates)."""
    return at.astimezone(CHINA_TIME).date()


def identify(hasher: IdHasher, raw: str) -> tuple[str, ResidentId]:
    normalised = normalise_resident_id(raw, field="id_number")
    return normalised, hasher.resident(normalised)


async def admit(
    session: AsyncSession,
    *,
    ctx: AdmissionContext,
    hospital_code: str,
    actor: str,
    body: AdmissionCreate,
) -> Recorded:
    normalised, resident = identify(ctx.hasher, body.id_number)
    request_hash = _request_hash(ctx.hasher, body, normalised)
    # The registry is asked before the first statement: on SQLite the first statement takes
    # the write lock, which must not be held across a network call.
    status = await resolve_status(
        session, lookup=ctx.lookup, id_number=normalised, person_key=resident.person_key
    )
    hospital = await ctx.hospitals.get(session, hospital_code)
    admitted_on = local_date(body.admitted_at)
    policy = await ctx.catalog.for_region(
        session, insured_region=body.insured_county, on=admitted_on
    )
    visit = _visit(body, hospital, admitted_on)
    judge = partial(
        assess,
        status=status,
        policy=policy,
        visit=visit,
        insured_county=body.insured_county,
        deposit_intended_fen=_fen(body.deposit_intended),
    )
    assessment = judge()
    if assessment.eligible and await is_marked(
        session, hospital_code=hospital_code, person_key=resident.person_key
    ):
        assessment = judge(defaulter=True)
    row = _admission(body, hospital, resident, status, assessment, policy, request_hash)
    answer = partial(admission_body, row, assessment=assessment, policy=policy, status=status)
    row["response"] = answer(violations=[])
    conn = await session.connection()
    admission_id = await _insert_once(conn, row)
    if admission_id is None:  # admitted before (a retry), or by a racing retry that won
        existing = await find_admission(
            session, hospital_code=hospital_code, visit_id=body.visit_id
        )
        assert existing is not None
        return _replay(existing, request_hash)
    event = {"source": status.source.value}
    await conn.execute(_EVENT, _event(admission_id, "admitted", actor, event))
    if assessment.findings:
        # Last: booking locks the county's ledger chain until the commit, so nothing else
        # of this admission should run while it is held.
        violations = await _book(session, admission_id, row, assessment, policy, status)
        row["response"] = answer(violations=violations)
        await conn.execute(
            _SET_RESPONSE, {"admission_id": admission_id, "b_response": row["response"]}
        )
    log.info(
        "admission recorded",
        extra={"fields": {"visit_id": body.visit_id, "hospital": hospital_code}},
    )
    return Recorded(body=row["response"], replayed=False)


_admissions = Admission.__table__  # type: ignore[attr-defined]
_events = AdmissionEvent.__table__  # type: ignore[attr-defined]
_SET_RESPONSE = (
    _admissions.update()
    .where(_admissions.c.id == sa.bindparam("admission_id"))
    .values(response=sa.bindparam("b_response", type_=sa.JSON))
)
_EVENT = sa.insert(_events)
_INSERT_ONCE = insert_unless_exists(_admissions, unique=("hospital_code", "visit_id"))


async def _insert_once(conn: AsyncConnection, row: dict[str, Any]) -> int | None:
    """Insert the admission unless (hospital, visit id) exists: its id, or None if it did.

    On PostgreSQL a racing insert of the same visit waits for the other to commit, then yields."""
    inserted = (await conn.execute(_INSERT_ONCE, row)).scalar_one_or_none()
    return None if inserted is None else int(inserted)


def _replay(existing: Admission, request_hash: str) -> Recorded:
    if existing.request_hash != request_hash:
        raise AdmissionConflict(
            f"visit {existing.visit_id} was admitted with a different body; "
            "use a new visit id or resend the original body",
            field="visit_id",
        )
    return Recorded(body=existing.response, replayed=True)


def _request_hash(hasher: IdHasher, body: AdmissionCreate, normalised: str) -> str:
    # Keyed: the hash covers the ID number, so a plain digest could be reversed by enumeration.
    payload = body.model_dump(mode="json") | {"id_number": normalised}
    return hasher.key_of(canonical_json(payload))


def _fen(yuan: Any) -> int:
    return int(yuan * 100)


def _visit(body: AdmissionCreate, hospital: HospitalRef, admitted_on: date) -> Visit:
    return Visit(
        visit_type=body.visit_type,
        hospital_level=hospital.level,
        hospital_tier=hospital.tier,
        location=location_of(
            hospital_county=hospital.county_code, insured_county=body.insured_county
        ),
        referred=body.referral.referred,
        designated=hospital.designated,
        admitted_on=admitted_on,
        discharged_on=admitted_on,
    )


def _admission(
    body: AdmissionCreate,
    hospital: HospitalRef,
    resident: ResidentId,
    status: PersonStatus,
    assessment: Assessment,
    policy: CompiledPolicy,
    request_hash: str,
) -> dict[str, Any]:
    """The admission's row, as the values of its columns."""
    return {
        "hospital_code": hospital.code,
        "county_code": hospital.county_code,
        "visit_id": body.visit_id,
        "person_key": resident.person_key,
        "person_masked": resident.masked,
        "name_masked": mask_name(body.name),
        "insured_county": body.insured_county,
        "visit_type": body.visit_type,
        "admitted_at": body.admitted_at.astimezone(UTC),
        "location": location_of(
            hospital_county=hospital.county_code, insured_county=body.insured_county
        ),
        "referred": body.referral.referred,
        "referral_no": body.referral.referral_no,
        "categories": sorted({c.code for c in assessment.categories}),
        "eligible": assessment.eligible,
        "eligibility": {"reasons": list(assessment.reasons), "covered": assessment.covered},
        "deposit_intended_fen": _fen(body.deposit_intended),
        "deposit_allowed_fen": assessment.deposit_allowed_fen,
        "deposit_taken_fen": 0,
        "status_source": status.source.value,
        "policy_hash": policy.content_hash,
        "request_hash": request_hash,
        "response": {},
        "state": "admitted",
        "created_at": utcnow(),
        "reversed_at": None,
        "reversal_reason": None,
    }


async def _book(
    session: AsyncSession,
    admission_id: int,
    admission: dict[str, Any],
    assessment: Assessment,
    policy: CompiledPolicy,
    status: PersonStatus,
) -> list[tuple[int, str, str]]:
    booked = []
    for notice in assessment.findings:
        assert notice.rule is not None
        points = points_for(policy, notice.rule)
        evidence = {
            "visit_id": admission["visit_id"],
            "admitted_on": local_date(admission["admitted_at"]).isoformat(),
            "visit_type": admission["visit_type"],
            "insured_county": admission["insured_county"],
            "categories": admission["categories"],
            "status_source": status.source.value,
            "snapshot_taken_at": status.snapshot_taken_at.isoformat()
            if status.snapshot_taken_at
            else None,
            "warning": notice.code,
            **(notice.evidence or {}),
        }
        violation = await book_violation(
            session,
            Finding(
                rule_code=notice.rule,
                hospital_code=admission["hospital_code"],
                county_code=admission["county_code"],
                source="admission",
                evidence=evidence,
                points=points,
                visit_id=admission["visit_id"],
                person_key=admission["person_key"],
                person_masked=admission["person_masked"],
                source_ref=f"admission:{admission_id}",
                policy_hash=policy.content_hash,
            ),
        )
        assert violation.id is not None
        booked.append((violation.id, notice.rule, str(points)))
    return booked


def _event(admission_id: int, kind: str, actor: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "admission_id": admission_id,
        "kind": kind,
        "actor": actor[:64],
        "detail": detail,
        "at": utcnow(),
    }


async def find_admission(
    session: AsyncSession, *, hospital_code: str, visit_id: str, for_update: bool = False
) -> Admission | None:
    query = select(Admission).where(
        Admission.hospital_code == hospital_code, Admission.visit_id == visit_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def get_admission(session: AsyncSession, *, hospital_code: str, visit_id: str) -> Admission:
    admission = await find_admission(session, hospital_code=hospital_code, visit_id=visit_id)
    if admission is None:
        raise AdmissionNotFound(f"no admission {visit_id} at hospital {hospital_code}")
    return admission


def request_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
