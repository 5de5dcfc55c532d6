"""Console pages after the slip: a fund's monthly statement for a hospital (清算), and the
patients' shares under pay-after-treatment (overdue list, instalments, defaulter marks)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from pydantic import Field

from service.clearing import export
from service.clearing import service as clearing
from service.clearing.schemas import PERIOD
from service.console.views import page
from service.receivables import defaulters
from service.receivables import service as receivables
from service.routers.console import UserDep, console_router
from service.routers.params import RowId
from service.schemas import Code, InputModel
from service.unit_of_work import UnitOfWorkDep
from service.violations.params import parse_form

router = console_router()


class ClearingQuery(InputModel):
    """The clearing page's filters. Its GET form sends the fields left empty as `name=`:
    parse_form reads those as not given, as on the other console filters."""

    fund_code: Code | None = None
    hospital_code: Code | None = None
    period: str | None = Field(default=None, pattern=PERIOD)


@router.get("/clearing")
async def clearing_page(request: Request, uow: UnitOfWorkDep, user: UserDep) -> Response:
    """A fund's statement for a hospital and month (as GET /v1/clearing/statement answers it,
    refusals included), the reconciliations stored for it, and the closed statements."""
    q = parse_form(ClearingQuery, request.query_params)
    fund_code, hospital_code, period = q.fund_code, q.hospital_code, q.period
    principal = user.principal
    funds = await clearing.list_funds(uow, principal=principal)
    # A fund key's own fund; otherwise the basic pool (医保基金) first, as offices read it first.
    basic_first = sorted(funds, key=lambda f: f.fund_type != "basic_insurance")
    fund_code = fund_code or principal.fund_code or (basic_first[0].code if funds else "")
    hospital_code = hospital_code or principal.hospital_code or ""
    statement, reconciliations = None, []
    if fund_code and hospital_code and period:
        statement = await clearing.statement(
            uow,
            principal=principal,
            fund_code=fund_code,
            hospital_code=hospital_code,
            period=period,
        )
        reconciliations = await clearing.list_reconciliations(
            uow,
            principal=principal,
            fund_code=fund_code,
            hospital_code=hospital_code,
            period=period,
            limit=20,
        )
    closed = await clearing.list_closed(
        uow, principal=principal, fund_code=None, hospital_code=None, limit=50
    )
    return page(
        "clearing.html",
        user=user,
        nav="clearing",
        funds=funds,
        fund_code=fund_code,
        hospital_code=hospital_code,
        period=period or "",
        statement=statement,
        reconciliations=reconciliations,
        closed=closed,
    )


@router.get("/clearing/statements/{statement_id}/export.{fmt}")
async def clearing_export(
    statement_id: RowId, fmt: export.ExportFormat, uow: UnitOfWorkDep, user: UserDep
) -> Response:
    """A closed statement's file, as GET /v1/clearing/statements/{id}/export gives it: the
    page linked the API's address, which a browser cannot call (it sends no API key)."""
    statement = await clearing.closed_by_id(
        uow, principal=user.principal, statement_id=statement_id
    )
    return export.download(statement, fmt)


@router.get("/receivables")
async def receivables_page(uow: UnitOfWorkDep, user: UserDep) -> Response:
    late = await receivables.overdue_list(
        uow, principal=user.principal, hospital_code=None, limit=200
    )
    marks = await defaulters.history(uow, principal=user.principal, hospital_code=None, limit=100)
    return page("receivables.html", user=user, nav="receivables", late=late, marks=marks)
