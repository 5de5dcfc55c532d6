"""A person's status, for a quick check without an admission. The ID number is in the path
(as the HIS integration asks); logs and metrics carry only the route template."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response

from service.auth.deps import AuditorOrHospitalDep
from service.china_time import today
from service.deps import AdmissionContextDep, SessionmakerDep
from service.errors import problem_responses
from service.persons.masked_route import MaskedPathRoute
from service.persons.status import PersonStatusPublic, person_status
from service.serialize import model_response
from service.unit_of_work import reading

router = APIRouter(prefix="/v1/persons", tags=["persons"], route_class=MaskedPathRoute)


@router.get(
    "/{id_number}/status",
    response_model=PersonStatusPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Poverty status and pay-after-treatment eligibility of a person today (or on a date)",
)
async def read_person_status(
    id_number: str,
    sessions: SessionmakerDep,
    ctx: AdmissionContextDep,
    principal: AuditorOrHospitalDep,
    on: date | None = Query(default=None, description="the day to check; default today (China)"),
) -> Response:
    day = today() if on is None else ctx.window.day(on, field="on")
    # Warm, the person, the policy and the hospital come from memory: no session is opened.
    async with reading(sessions) as session:
        status = await person_status(
            session, ctx=ctx, principal=principal, id_number=id_number, on=day
        )
    return model_response(status)
