"""A person's status, for a quick check without an admission. The ID number is in the path
(as the HIS integration asks); logs and metrics carry only the route template."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response

from service.auth.deps import AuditorOrHospitalDep
from service.deps import StatusReaderDep
from service.errors import problem_responses
from service.persons.masked_route import FlatMaskedPathRoute
from service.persons.status import PersonStatusPublic
from service.serialize import model_response

router = APIRouter(prefix="/v1/persons", tags=["persons"], route_class=FlatMaskedPathRoute)


@router.get(
    "/{id_number}/status",
    response_model=PersonStatusPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Poverty status and pay-after-treatment eligibility of a person today (or on a date)",
)
async def read_person_status(
    id_number: str,
    reader: StatusReaderDep,
    principal: AuditorOrHospitalDep,
    on: date | None = Query(default=None, description="the day to check; default today (China)"),
) -> Response:
    return model_response(await reader.status(principal, id_number, on))
