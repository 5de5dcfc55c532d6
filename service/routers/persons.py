"""A person's status, for a quick check without an admission. The ID number is in the path
(as the HIS integration asks); logs and metrics carry only the route template."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response

from service.auth.deps import AuditorOrHospitalDep
from service.deps import StatusReaderDep
from service.persons.masked_route import FlatMaskedPathRoute
from service.persons.status import PersonStatusPublic
from service.routers.routes import read
from service.serialize import model_response

router = APIRouter(prefix="/v1/persons", tags=["persons"], route_class=FlatMaskedPathRoute)


@read(
    router,
    "/{id_number}/status",
    "Poverty status and pay-after-treatment eligibility of a person today (or on a date)",
    not_found=True,
    response_model=PersonStatusPublic,
)
async def read_person_status(
    id_number: str,
    reader: StatusReaderDep,
    principal: AuditorOrHospitalDep,
    on: date | None = Query(default=None, description="the day to check; default today (China)"),
) -> Response:
    return model_response(await reader.status(principal, id_number, on))
