"""Indicators (健康扶贫指标) for a region and period, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.auth.deps import AuditorDep
from service.deps import CatalogDep
from service.indicators.schemas import Indicators
from service.indicators.service import indicators_for
from service.routers.routes import read
from service.unit_of_work import SessionDep
from service.violations.params import PeriodQuery

router = APIRouter(prefix="/v1/indicators", tags=["indicators"])


@read(
    router,
    "",
    "One-stop, no-deposit, reimbursement, out-of-catalogue, in-county and problem figures",
    not_found=True,
)
async def get_indicators(
    session: SessionDep,
    catalog: CatalogDep,
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
        catalog=catalog,
    )
