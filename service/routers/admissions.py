"""Admissions (入院登记): the admission desk's call, deposits taken, reversal."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.admissions.errors import AdmissionNotFound, HospitalCodeRequired
from service.admissions.lifecycle import report_deposit, reverse_admission
from service.admissions.schemas import (
    AdmissionCreate,
    AdmissionDetail,
    AdmissionPublic,
    DepositOutcome,
    DepositReport,
    ReversalRequest,
)
from service.admissions.service import AdmissionContext, admit, get_admission
from service.admissions.views import admission_detail
from service.auth import AuditorOrHospitalDep, HospitalDep, Role
from service.dates import DateWindowDep
from service.db import SessionDep
from service.errors import problem_responses

router = APIRouter(prefix="/v1/admissions", tags=["admissions"])
REPLAYED = "Idempotent-Replayed"


def admission_context(request: Request) -> AdmissionContext:
    context: AdmissionContext = request.app.state.admission_context
    return context


@router.post(
    "",
    status_code=201,
    response_model=AdmissionPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Admit a patient: status, pay-after-treatment, deposit allowed, warnings",
)
async def create_admission(
    body: AdmissionCreate,
    request: Request,
    session: SessionDep,
    hospital: HospitalDep,
    window: DateWindowDep,
) -> JSONResponse:
    assert hospital.hospital_code is not None
    window.moment(body.admitted_at, field="admitted_at")
    recorded = await admit(
        session,
        ctx=admission_context(request),
        hospital_code=hospital.hospital_code,
        actor=hospital.label,
        body=body,
    )
    headers = {REPLAYED: "true"} if recorded.replayed else {}
    return JSONResponse(recorded.body, status_code=201, headers=headers)


@router.get(
    "/{visit_id}",
    response_model=AdmissionDetail,
    responses=problem_responses(401, 403, 404, 422),
    summary="An admission (own hospital; auditors within their region, with hospital_code)",
)
async def read_admission(
    visit_id: str,
    session: SessionDep,
    principal: AuditorOrHospitalDep,
    hospital_code: str | None = Query(default=None, max_length=32),
) -> AdmissionDetail:
    if principal.role is Role.HOSPITAL:
        assert principal.hospital_code is not None
        hospital_code = principal.hospital_code
    elif hospital_code is None:
        raise HospitalCodeRequired(
            "visit ids are unique per hospital: pass hospital_code", field="hospital_code"
        )
    admission = await get_admission(session, hospital_code=hospital_code, visit_id=visit_id)
    if not principal.sees_hospital(admission.hospital_code, admission.county_code):
        raise AdmissionNotFound(f"no admission {visit_id} at hospital {hospital_code}")
    return admission_detail(admission)


@router.post(
    "/{visit_id}/deposits",
    status_code=201,
    response_model=DepositOutcome,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Report a deposit taken; an eligible patient's deposit is a DEPOSIT_CHARGED finding",
)
async def create_deposit(
    visit_id: str,
    body: DepositReport,
    request: Request,
    session: SessionDep,
    hospital: HospitalDep,
    window: DateWindowDep,
) -> JSONResponse:
    assert hospital.hospital_code is not None
    outcome, replayed = await report_deposit(
        session,
        window=window,
        catalog=request.app.state.policies,
        hospital_code=hospital.hospital_code,
        actor=hospital.label,
        visit_id=visit_id,
        body=body,
    )
    headers = {REPLAYED: "true"} if replayed else {}
    return JSONResponse(outcome, status_code=201, headers=headers)


@router.post(
    "/{visit_id}/reversal",
    response_model=AdmissionDetail,
    responses=problem_responses(401, 403, 404, 422),
    summary="Reverse (cancel) an admission; idempotent, findings stay in the ledger",
)
async def create_reversal(
    visit_id: str,
    body: ReversalRequest,
    session: SessionDep,
    hospital: HospitalDep,
) -> AdmissionDetail:
    assert hospital.hospital_code is not None
    admission = await reverse_admission(
        session,
        hospital_code=hospital.hospital_code,
        actor=hospital.label,
        visit_id=visit_id,
        reason=body.reason,
    )
    return admission_detail(admission)
