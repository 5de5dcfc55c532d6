"""Settlement (结算) at discharge: preview, settle, reverse, read, and the printable slip."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from service.admissions.schemas import VISIT_ID_PATTERN
from service.auth.deps import AuditorOrHospitalDep, HospitalCodeDep, HospitalDep
from service.deps import AdmissionContextDep, SettingsDep
from service.errors import problem_responses
from service.flat_route import flat_post
from service.idtext import NoResidentId
from service.routers.params import RowId
from service.routers.replays import answer_recorded, replay_headers
from service.routers.routes import WRITE_PROBLEMS, read, recording
from service.settlements import service
from service.settlements.desk import Desk
from service.settlements.schemas import (
    ReversalCreate,
    SettlementCreate,
    SettlementPreviewCreate,
    SettlementPublic,
)
from service.settlements.shown import TraceQuery, settlement_response
from service.settlements.slip import render_slip, slip_headers
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/v1/settlements", tags=["settlements"])


@flat_post(
    router,
    "/preview",
    response_model=SettlementPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Pre-settlement (预结算): what settling this bill now would pay; nothing is stored",
)
async def preview_settlement(
    body: SettlementPreviewCreate,
    uow: UnitOfWorkDep,
    ctx: AdmissionContextDep,
    hospital_code: HospitalCodeDep,
    trace: TraceQuery = "full",
) -> Response:
    settlement = await Desk.of(ctx, hospital_code).preview(uow, body)
    return settlement_response(settlement, trace)


@recording(
    partial(flat_post, router),
    "",
    "Settle a visit (结算), idempotent on (visit_id, his_settlement_id)",
    replayed=("the settlement the same request recorded before (a replay)", SettlementPublic),
    problems=(*WRITE_PROBLEMS, 503),
    description=(
        "Stores the settlement with the year's accumulator updates and the violations it finds, "
        "in one transaction. The same body again returns the stored settlement (201, header "
        "`Idempotent-Replayed: true`); a different body under the same keys is a 409 "
        "`settlement_conflict`; a second active settlement of a visit is a 409 "
        "`visit_already_settled`. `?trace=summary` (or `none`) shortens the calculation "
        "trace in the answer; the settlement is stored with its whole trace either way."
    ),
)
async def create_settlement(
    body: SettlementCreate,
    uow: UnitOfWorkDep,
    ctx: AdmissionContextDep,
    hospital_code: HospitalCodeDep,
    trace: TraceQuery = "full",
) -> Response:
    # One dependency for the catalog, the hospitals and the date window (the admission
    # context holds all three): each dependency costs a solve per request (ADR 0020).
    outcome = await Desk.of(ctx, hospital_code).settle(uow, body)
    headers = {"Location": f"/v1/settlements/{outcome.entry.id}", **replay_headers(outcome)}
    return settlement_response(outcome.entry, trace, status_code=201, headers=headers)


@recording(
    router.post,
    "/{settlement_id}/reversal",
    "Reverse a settlement (冲销): restores every accumulator it moved, at most once",
    replayed=(
        "the reversal made before: the same reason and `his_reversal_id` (or neither has one)",
        SettlementPublic,
    ),
    problems=(*WRITE_PROBLEMS, 503),
)
async def reverse_settlement(
    settlement_id: RowId,
    body: ReversalCreate,
    response: Response,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    hospital_code: HospitalCodeDep,
) -> SettlementPublic:
    outcome = await service.reverse(
        uow,
        hospital_code=hospital_code,
        settlement_id=settlement_id,
        body=body,
        actor=principal.label,
    )
    return answer_recorded(response, outcome)


@read(router, "", "A visit's settlements (the owning hospital; auditors within their region)")
async def list_settlements(
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    principal: AuditorOrHospitalDep,
    visit_id: Annotated[
        str, Query(min_length=1, max_length=64, pattern=VISIT_ID_PATTERN), NoResidentId
    ],
    hospital_code: Annotated[str | None, Query(max_length=32)] = None,
) -> list[SettlementPublic]:
    return await service.list_for_visit(
        uow,
        principal=principal,
        visit_id=visit_id,
        hospital_code=hospital_code,
        limit=settings.max_page_size,
    )


@read(router, "/{settlement_id}", not_found=True, response_model=SettlementPublic)
async def get_settlement(
    settlement_id: RowId,
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    trace: TraceQuery = "full",
) -> Response:
    settlement = await service.get(uow, principal=principal, settlement_id=settlement_id)
    return settlement_response(settlement, trace)


@read(
    router,
    "/{settlement_id}/slip",
    "The printable one-stop settlement slip (一站式结算单)",
    not_found=True,
    response_class=HTMLResponse,
)
async def settlement_slip(
    settlement_id: RowId,
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    layout: Annotated[
        Literal["a4", "receipt"],
        Query(description="a4: the full page; receipt: one column for 80 mm receipt printers"),
    ] = "a4",
) -> HTMLResponse:
    html = await render_slip(uow, principal=principal, settlement_id=settlement_id, layout=layout)
    return HTMLResponse(html, headers=slip_headers(html))
