"""Admissions (入院登记): the admission desk's call, deposits taken, reversal."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from service.admissions.lifecycle import report_deposit, reverse_admission
from service.admissions.reads import visible_admission
from service.admissions.responses import admission_detail
from service.admissions.schemas import (
    VISIT_ID_PATTERN,
    AdmissionCreate,
    AdmissionDetail,
    AdmissionPublic,
    AdmissionReversalCreate,
    DepositCreate,
    DepositPublic,
)
from service.admissions.service import admit
from service.auth.deps import AuditorOrHospitalDep, HospitalCallerDep
from service.deps import AdmissionContextDep, CatalogDep, DateWindowDep
from service.errors import problem_responses
from service.flat_route import flat_post
from service.recorded import Recorded
from service.routers.replays import answer_recorded, replay_headers, replayed_doc
from service.routers.routes import read, recording
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/v1/admissions", tags=["admissions"])

# The HIS visit id as the admission stored it: a path that cannot hold one is a 422 naming it,
# not a 404 that echoes whatever was sent.
VisitIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=VISIT_ID_PATTERN)]


def _created(recorded: Recorded[dict[str, Any]]) -> JSONResponse:
    """The stored answer, byte for byte on a replay, which the header says."""
    return JSONResponse(recorded.entry, status_code=201, headers=replay_headers(recorded))


@recording(
    partial(flat_post, router),
    "",
    "Admit a patient: status, pay-after-treatment, deposit allowed, warnings",
    replayed=("the admission the same request recorded before (a replay)", AdmissionPublic),
)
async def create_admission(
    body: AdmissionCreate,
    uow: UnitOfWorkDep,
    ctx: AdmissionContextDep,
    hospital: HospitalCallerDep,
) -> JSONResponse:
    recorded = await admit(
        uow,
        ctx=ctx,
        hospital_code=hospital.code,
        actor=hospital.principal.label,
        body=body,
    )
    return _created(recorded)


@read(
    router,
    "/{visit_id:path}",
    "An admission (own hospital; auditors within their region, with hospital_code)",
    not_found=True,
)
async def read_admission(
    visit_id: VisitIdPath,
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    hospital_code: str | None = Query(default=None, max_length=32),
) -> AdmissionDetail:
    admission = await visible_admission(
        uow, principal=principal, visit_id=visit_id, hospital_code=hospital_code
    )
    return admission_detail(admission)


@recording(
    partial(flat_post, router),
    "/{visit_id:path}/deposits",
    "Report a deposit taken; an eligible patient's deposit is a DEPOSIT_CHARGED finding",
    replayed=("the deposit the same receipt recorded before (a replay)", DepositPublic),
)
async def create_deposit(
    visit_id: VisitIdPath,
    body: DepositCreate,
    uow: UnitOfWorkDep,
    catalog: CatalogDep,
    hospital: HospitalCallerDep,
    window: DateWindowDep,
) -> JSONResponse:
    recorded = await report_deposit(
        uow,
        catalog=catalog,
        window=window,
        hospital_code=hospital.code,
        actor=hospital.principal.label,
        visit_id=visit_id,
        body=body,
    )
    return _created(recorded)


@router.post(
    "/{visit_id:path}/reversal",
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Reverse (cancel) an admission; idempotent, findings stay in the ledger; "
    "409 admission_settled while a settlement of the visit is active",
    openapi_extra={"responses": {"200": replayed_doc("the admission reversed before")}},
)
async def create_reversal(
    visit_id: VisitIdPath,
    body: AdmissionReversalCreate,
    response: Response,
    uow: UnitOfWorkDep,
    hospital: HospitalCallerDep,
) -> AdmissionDetail:
    recorded = await reverse_admission(
        uow,
        hospital_code=hospital.code,
        actor=hospital.principal.label,
        visit_id=visit_id,
        reason=body.reason,
    )
    return admission_detail(answer_recorded(response, recorded))
