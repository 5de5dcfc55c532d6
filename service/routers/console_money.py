"""Console pages after the slip: a fund's monthly statement for a hospital (清算), and the
patients' shares under pay-after-treatment (overdue list, instalments, defaulter marks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.clearing import service as clearing
from service.clearing.schemas import CODE, PERIOD
from service.console.views import page
from service.errors import ServiceError
from service.receivables import defaulters
from service.receivables import service as receivables
from service.routers.console import UserDep
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/clearing")
async def clearing_page(
    request: Request,
    uow: UnitOfWorkDep,
    user: UserDep,
    fund_code: Annotated[str, Query(max_length=32, pattern=CODE)] = "F99-BASIC",
    hospital_code: Annotated[str | None, Query(max_length=32, pattern=CODE)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
) -> Response:
    funds = await clearing.list_funds(uow, principal=user.principal)
    statement, error = None, None
    if hospital_code and period:
        try:
            statement = await clearing.statement(
                uow,
                principal=user.principal,
                fund_code=fund_code,
                hospital_code=hospital_code,
                period=period,
            )
        except ServiceError as exc:
            error = exc.detail
    closed = await clearing.list_closed(
        uow, principal=user.principal, fund_code=None, hospital_code=None, limit=50
    )
    return page(
        "clearing.html",
        user=user,
        nav="clearing",
        funds=funds,
        fund_code=fund_code,
        hospital_code=hospital_code or (user.principal.hospital_code or ""),
        period=period or "",
        statement=statement,
        closed=closed,
        error=error,
    )


@router.get("/receivables")
async def receivables_page(request: Request, uow: UnitOfWorkDep, user: UserDep) -> Response:
    late = await receivables.overdue_list(
        uow, principal=user.principal, hospital_code=None, limit=200
    )
    marks = await defaulters.history(uow, principal=user.principal, hospital_code=None, limit=100)
    return page("receivables.html", user=user, nav="receivables", late=late, marks=marks)
