"""The directory's hospitals: an admin registers and changes them; a hospital key reads its
own, auditors and funds their region's, admins all. A change reaches requests within the
hospital directory's TTL (service/regions/directory.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from service.auth.deps import AdminDep, PrincipalDep
from service.errors import problem_responses
from service.regions import service
from service.regions.schemas import HospitalCreate, HospitalPublic
from service.routers.params import RegionPrefixQuery
from service.routers.replays import answer_put
from service.routers.routes import recording
from service.schemas import Code
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/v1/hospitals", tags=["directory"])

HospitalCode = Annotated[Code, Path()]


@router.get("", responses=problem_responses(401, 422), summary="The hospitals you may see")
async def get_hospitals(
    uow: UnitOfWorkDep, principal: PrincipalDep, region: RegionPrefixQuery = None
) -> list[HospitalPublic]:
    return await service.list_hospitals(uow, principal=principal, prefix=region)


@router.get("/{hospital_code}", responses=problem_responses(401, 404, 422))
async def get_hospital(
    hospital_code: HospitalCode, uow: UnitOfWorkDep, principal: PrincipalDep
) -> HospitalPublic:
    return await service.get_hospital(uow, principal=principal, code=hospital_code)


@recording(
    router.put,
    "/{hospital_code}",
    "Register a hospital in a registered county, or change it (admin)",
    changed=("the hospital as stored: changed, or already so", HospitalPublic),
    description="201 when registered; 200 when changed, or with Idempotent-Replayed when it "
    "was so already. A hospital with admissions keeps its county (409 hospital_in_use). "
    "Requests see a change within the hospital directory's TTL (10 s).",
)
async def put_hospital(
    hospital_code: HospitalCode,
    body: HospitalCreate,
    response: Response,
    uow: UnitOfWorkDep,
    _: AdminDep,
) -> HospitalPublic:
    return answer_put(response, await service.put_hospital(uow, code=hospital_code, body=body))
