"""年度补足 (二次救助): the console's page for the year-end top-up of a region's ended plan year.

试算 computes a run and stores nothing; 确认入账 books it (a CSRF-checked form, as every console
form); both show, per fund and per person (masked), the year's figure, what earlier runs booked
and what this one books. Below, the rows booked for the region and year, a page at a time, with
each fund's total and the download the API gives (service/yearend/export.py). The services are
the API's (POST /v1/year-end/runs, GET /v1/year-end/payments, ADR 0021); who may open the page
is service/console/access.py (auditors within their region, admins). A refusal comes back on
the page in Chinese with what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response, StreamingResponse

from service.auth import Principal
from service.china_time import today
from service.console import session as console
from service.console.answers import problem_words
from service.console.views import page
from service.deps import CatalogDep, SessionmakerDep
from service.errors import ProblemFacts, ServiceError
from service.routers.console import FormUserDep, UserDep, console_router
from service.routers.yearend import PlanYearQuery, RegionCodeQuery
from service.unit_of_work import UnitOfWorkDep
from service.violations.export import ExportFormat
from service.violations.params import parse_form
from service.yearend.export import payments_download
from service.yearend.schemas import (
    YearEndLedger,
    YearEndPaymentsQuery,
    YearEndRunCreate,
)
from service.yearend.service import run_year_end, year_end_ledger

router = console_router()
PAGE_SIZE = 50
PERSONS_SHOWN = 500  # a prefecture's run can name thousands; the booked rows are all downloadable


def _own_region(principal: Principal) -> str:
    """The region code an auditor's prefix stands for (99 -> 990000), the form's default."""
    prefix = principal.region_prefix or ""
    return prefix.ljust(6, "0") if prefix else ""


def _yearend_page(
    user: console.ConsoleUser, typed: dict[str, str], status_code: int = 200, **context: Any
) -> Response:
    return page(
        "yearend.html",
        status_code=status_code,
        user=user,
        nav="yearend",
        persons_shown=PERSONS_SHOWN,
        typed=typed,
        **{"run": None, "ledger": None, "after": 0, **context},
    )


async def _ledger(
    uow: UnitOfWorkDep, user: console.ConsoleUser, *, region_code: str, plan_year: int, after: int
) -> YearEndLedger:
    return await year_end_ledger(
        uow,
        principal=user.principal,
        region_code=region_code,
        plan_year=plan_year,
        after=after,
        limit=PAGE_SIZE,
    )


def _booked_words(rows: int, amount: str) -> str:
    if rows == 0:
        return "本次无新增入账：应补金额与此前入账一致"
    return f"已入账 {rows} 笔，合计 {amount} 元"


@router.get("/yearend")
async def yearend_page(request: Request, uow: UnitOfWorkDep, user: UserDep) -> Response:
    """The form, and the booked rows of the region and year asked. Asked nothing, the form
    alone, filled with the caller's own region and last year."""
    asked = request.query_params
    if "region_code" not in asked and "plan_year" not in asked:
        own = {"region_code": _own_region(user.principal), "plan_year": str(today().year - 1)}
        return _yearend_page(user, own)
    typed = {"region_code": asked.get("region_code", ""), "plan_year": asked.get("plan_year", "")}
    try:
        q = parse_form(YearEndPaymentsQuery, {**asked, **typed}, what="the form")
        ledger = await _ledger(
            uow, user, region_code=q.region_code, plan_year=q.plan_year, after=q.after
        )
    except ServiceError as e:
        return _yearend_page(
            user, typed, status_code=e.status, error=problem_words(ProblemFacts.of(e))
        )
    return _yearend_page(user, typed, ledger=ledger, after=q.after)


@router.post("/yearend")
async def yearend_run(
    uow: UnitOfWorkDep,
    catalog: CatalogDep,
    user: FormUserDep,
    region_code: Annotated[str, Form(max_length=32)] = "",
    plan_year: Annotated[str, Form(max_length=16)] = "",
    action: Annotated[str, Form(max_length=16)] = "dry_run",
) -> Response:
    """试算 (action dry_run, and anything but book) or 确认入账 (book); the answer is shown, not
    redirected to: a run's answer is not stored, and booking again books nothing."""
    typed = {"region_code": region_code, "plan_year": plan_year}
    body = parse_form(YearEndRunCreate, {**typed, "dry_run": action != "book"}, what="the form")
    run = await run_year_end(
        uow, catalog, principal=user.principal, body=body, booked_by=user.principal.label
    )
    ledger = await _ledger(
        uow, user, region_code=body.region_code, plan_year=body.plan_year, after=0
    )
    message = None if run.dry_run else _booked_words(run.rows_booked, run.booked_now)
    return _yearend_page(user, typed, run=run, ledger=ledger, message=message)


@router.get("/yearend/export.{fmt}")
async def yearend_export(
    fmt: ExportFormat,
    sessionmaker: SessionmakerDep,
    user: UserDep,
    region_code: RegionCodeQuery,
    plan_year: PlanYearQuery,
) -> StreamingResponse:
    return await payments_download(
        fmt, sessionmaker, principal=user.principal, region_code=region_code, plan_year=plan_year
    )
