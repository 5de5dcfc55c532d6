"""The directory's regions (行政区划): an admin registers them, parent first; every role reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from service.auth.deps import AdminDep, PrincipalDep
from service.deps import SettingsDep
from service.errors import problem_responses
from service.regions import service
from service.regions.schemas import RegionCreate, RegionPublic
from service.routers.params import RegionPrefixQuery
from service.routers.replays import answer_put
from service.routers.routes import recording
from service.schemas import REGION_CODE
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/v1/regions", tags=["directory"])

RegionCode = Annotated[str, Path(pattern=REGION_CODE, description="six digits (行政区划代码)")]


@router.get("", responses=problem_responses(401, 422), summary="The registered regions")
async def get_regions(
    uow: UnitOfWorkDep, _: PrincipalDep, region: RegionPrefixQuery = None
) -> list[RegionPublic]:
    return await service.list_regions(uow, prefix=region)


@recording(
    router.put,
    "/{region_code}",
    "Register a region or change its name (admin); its parent is registered first",
    changed=("the region as stored: changed, or already so", RegionPublic),
    problems=(401, 403, 404, 422),
    description="The level and parent follow from the code: a province (xx0000) has none, a "
    "prefecture (xxxx00) is under code[:2]+'0000', a county under code[:4]+'00'. 201 when "
    "registered; 200 when changed, or with Idempotent-Replayed when it was so already.",
)
async def put_region(
    region_code: RegionCode,
    body: RegionCreate,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    _: AdminDep,
) -> RegionPublic:
    synthetic = settings.environment != "production"
    stored = await service.put_region(uow, code=region_code, body=body, synthetic=synthetic)
    return answer_put(response, stored)
