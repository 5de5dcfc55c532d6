"""Indicators (健康扶贫指标) for a region and period, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from service.auth import Principal, Role, require_roles
from service.db import SessionDep
from service.errors import problem_responses
from service.indicators.schemas import Indicators
from service.indicators.service import indicators_for
from service.violations.params import PeriodQuery

router = APIRouter(prefix="/v1/indicators", tags=["indicators"])

AuditorDep = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]


@router.get(
    "",
    response_model=Indicators,
    responses=problem_responses(401, 403, 404, 422),
    summary="One-stop, no-deposit, reimbursement, out-of-catalogue, in-county and problem figures",
)
async def get_indicators(
    request: Request,
    session: SessionDep,
    principal: AuditorDep,
    query: Annotated[PeriodQuery, Query()],
) -> Indicators:
    period = query.filter()
    return await indicators_for(
        session,
        principal=principal,
        region=query.region,
        start=period.detected_from,
        end=period.detected_to,
        catalog=request.app.state.policies,
    )
