"""What-if (政策测算): what a proposed policy would have cost over a year already settled."""

from __future__ import annotations

from fastapi import APIRouter

from service.auth.deps import AuditorDep
from service.deps import CatalogDep
from service.errors import problem_responses
from service.unit_of_work import SessionDep
from service.whatif.schemas import WhatIfCreate, WhatIfPublic
from service.whatif.service import run_what_if

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.post(
    "/whatif",
    responses=problem_responses(401, 403, 404, 422),
    summary="Re-settle a year under a proposed policy and compare (auditor, admin); stores nothing",
)
async def post_what_if(
    body: WhatIfCreate, session: SessionDep, catalog: CatalogDep, principal: AuditorDep
) -> WhatIfPublic:
    return await run_what_if(session, catalog, principal=principal, body=body)
