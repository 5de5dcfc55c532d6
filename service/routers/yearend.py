"""The year-end top-up (二次救助 / 年度补足): run it for a region's ended plan year, and read
what was booked. Auditors within their region and admins; hospitals and funds may not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from service.auth.deps import AuditorDep
from service.base import MAX_ROW_ID
from service.deps import CatalogDep, SessionmakerDep
from service.errors import problem_responses
from service.routers.params import capped_limit
from service.routers.routes import read
from service.schemas import REGION_CODE, PlainDigits
from service.unit_of_work import UnitOfWorkDep
from service.violations.export import ExportFormat
from service.yearend.export import payments_download
from service.yearend.schemas import YearEndLedger, YearEndRunCreate, YearEndRunPublic
from service.yearend.service import run_year_end, year_end_ledger

router = APIRouter(prefix="/v1/year-end", tags=["year-end"])
# The region and plan year of a read, as the API and the console's download take them.
RegionCodeQuery = Annotated[str, Query(pattern=REGION_CODE)]
PlanYearQuery = Annotated[int, Query(ge=1, le=9998), PlainDigits]


@router.post(
    "/runs",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
    summary="Run the year-end top-up of a region's ended plan year (auditor, admin)",
    description="Books, per person and `year_end` entry, the year's figure less what earlier "
    "runs booked (a second run books nothing; a reversal or a late settlement since books the "
    "difference as a new row). `dry_run` computes and stores nothing. 422 "
    "`plan_year_not_over` before the year has ended, `plan_year_out_of_range` outside "
    "2000-2098, `plan_year_before_records` when the service holds no stay of the region "
    "admitted by the year's end; 404 `region_not_found`, `region_out_of_scope`; 409 "
    "`year_end_run_raced` when concurrent runs kept booking first; 503 `database_busy` when "
    "the rows stayed contended.",
)
async def post_run(
    body: YearEndRunCreate, uow: UnitOfWorkDep, catalog: CatalogDep, principal: AuditorDep
) -> YearEndRunPublic:
    return await run_year_end(
        uow, catalog, principal=principal, body=body, booked_by=principal.label
    )


@read(
    router,
    "/payments",
    "What the year-end runs booked for a region's plan year, and each fund's total",
    not_found=True,
)
async def get_payments(
    uow: UnitOfWorkDep,
    principal: AuditorDep,
    region_code: RegionCodeQuery,
    plan_year: PlanYearQuery,
    limit: Annotated[int, capped_limit(200, most=1000)],
    after: Annotated[
        int, Query(ge=0, le=MAX_ROW_ID, description="the last id seen"), PlainDigits
    ] = 0,
) -> YearEndLedger:
    return await year_end_ledger(
        uow,
        principal=principal,
        region_code=region_code,
        plan_year=plan_year,
        after=after,
        limit=limit,
    )


@read(
    router,
    "/payments/export.{fmt}",
    "Every row the year-end runs booked for a region's plan year, as CSV or XLSX "
    "(Chinese headers; the XLSX caption gives each fund's total)",
    not_found=True,
    download="the booked rows as a file",
)
async def export_payments(
    fmt: ExportFormat,
    sessionmaker: SessionmakerDep,
    principal: AuditorDep,
    region_code: RegionCodeQuery,
    plan_year: PlanYearQuery,
) -> StreamingResponse:
    return await payments_download(
        fmt, sessionmaker, principal=principal, region_code=region_code, plan_year=plan_year
    )
