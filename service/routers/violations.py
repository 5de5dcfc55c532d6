"""The violation ledger (问题台账): query, rectify (挂账销号), verify, score and export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from service.auth.deps import AuditorDep, AuditorOrHospitalDep
from service.deps import SessionmakerDep, SettingsDep
from service.errors import Unprocessable, problem_responses
from service.routers.replays import answer_recorded
from service.routers.routes import read, recording
from service.schemas import PlainDigits
from service.unit_of_work import SessionDep, UnitOfWorkDep
from service.violations import export
from service.violations.detail import violation_detail
from service.violations.params import LedgerQuery, PageQuery, PeriodQuery
from service.violations.query import get_violation, list_violations
from service.violations.rectification import move
from service.violations.schemas import (
    ChainHeads,
    ChainHeadsUpload,
    Scoreboard,
    TransitionCreate,
    VerifyReport,
    ViolationDetail,
    ViolationPage,
    ViolationPublic,
)
from service.violations.scoreboard import scoreboard
from service.violations.total import TOTAL_CAP
from service.violations.verify import chain_heads, verify_ledger

router = APIRouter(prefix="/v1/violations", tags=["violations"])

LedgerQueryDep = Annotated[LedgerQuery, Query()]
PeriodQueryDep = Annotated[PeriodQuery, Query()]
ExportFormat = Literal["csv", "xlsx"]


@read(router, "", "Violations in the caller's scope, keyset-paged (newest first by default)")
async def list_ledger(
    session: SessionDep,
    settings: SettingsDep,
    principal: AuditorOrHospitalDep,
    query: Annotated[PageQuery, Query()],
) -> ViolationPage:
    limit = settings.max_page_size
    if query.page_size > limit:
        raise Unprocessable(f"page_size is at most {limit}", field="page_size")
    page = await list_violations(
        session,
        principal=principal,
        wanted=query.filter(),
        page_size=query.page_size,
        sort=query.sort,
        cursor=query.cursor,
    )
    return ViolationPage(
        items=[ViolationPublic.of(v) for v in page.items],
        total=page.total,
        total_exact=page.total_exact,
        total_cap=TOTAL_CAP,
        next_cursor=page.next_cursor,
        page_size=query.page_size,
    )


@read(
    router,
    "/export.{fmt}",
    "The same query as the list, every page, as CSV or XLSX (Chinese headers)",
    response_class=StreamingResponse,
)
async def export_ledger(
    fmt: ExportFormat,
    sessionmaker: SessionmakerDep,
    principal: AuditorOrHospitalDep,
    query: LedgerQueryDep,
) -> StreamingResponse:
    return await export.ledger_download(
        fmt, sessionmaker, principal=principal, wanted=query.filter(), sort=query.sort
    )


@read(router, "/scoreboard", "Deduction points per county and hospital over a period, ranked")
async def get_scoreboard(
    session: SessionDep, principal: AuditorOrHospitalDep, query: PeriodQueryDep
) -> Scoreboard:
    return await scoreboard(session, principal=principal, wanted=query.filter())


@read(
    router,
    "/scoreboard/export.{fmt}",
    "The scoreboard as CSV or XLSX",
    response_class=StreamingResponse,
)
async def export_scoreboard(
    fmt: ExportFormat, session: SessionDep, principal: AuditorOrHospitalDep, query: PeriodQueryDep
) -> StreamingResponse:
    wanted = query.filter()
    board = await scoreboard(session, principal=principal, wanted=wanted)
    return await export.scoreboard_download(fmt, board, wanted=wanted)


@read(
    router,
    "/verify",
    "Recompute every county chain in scope; intact, or the first broken record",
    parameters=False,
)
async def verify(session: SessionDep, principal: AuditorDep) -> VerifyReport:
    return await verify_ledger(session, principal=principal)


@router.post(
    "/verify",
    responses=problem_responses(401, 403, 422),
    summary="Verify against exported chain heads: also catches a cut tail or a deleted chain",
    description=(
        "Send the document `GET /chain-heads` gave earlier, as kept. Each exported head in the"
        " caller's region must still be in its chain with the same hash; a chain exported and"
        " now gone is broken. Heads outside the caller's region are listed, not judged."
    ),
)
async def verify_against_heads(
    body: ChainHeadsUpload, session: SessionDep, principal: AuditorDep
) -> VerifyReport:
    return await verify_ledger(session, principal=principal, exported=body.heads)


@read(
    router,
    "/chain-heads",
    "Each chain's head (seq, hash): keep it to detect a later truncation",
    parameters=False,
)
async def get_chain_heads(session: SessionDep, principal: AuditorDep) -> ChainHeads:
    return await chain_heads(session, principal=principal)


@router.get(
    "/{violation_id}",
    responses=problem_responses(401, 403, 404),
    summary="One violation with its evidence and full history",
)
async def get_one(
    violation_id: Annotated[int, PlainDigits], session: SessionDep, principal: AuditorOrHospitalDep
) -> ViolationDetail:
    violation = await get_violation(session, principal=principal, violation_id=violation_id)
    return await violation_detail(session, principal=principal, violation=violation)


@recording(
    router.post,
    "/{violation_id}/transitions",
    "Move a violation through rectification (挂账销号)",
    replayed=("the same change by the same caller, made before", ViolationDetail),
)
async def transition(
    violation_id: Annotated[int, PlainDigits],
    body: TransitionCreate,
    response: Response,
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
) -> ViolationDetail:
    session = uow.session
    violation = await get_violation(session, principal=principal, violation_id=violation_id)
    recorded = await move(
        uow,
        principal=principal,
        violation=violation,
        to_status=body.to_status,
        note=body.note,
        evidence_ref=body.evidence_ref,
    )
    answer_recorded(response, recorded)
    return await violation_detail(session, principal=principal, violation=violation)
