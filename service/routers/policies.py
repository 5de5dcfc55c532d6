"""Policy versions: admins load them; every caller can list what is in force."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from service.auth.deps import AdminDep, PrincipalDep
from service.china_time import today
from service.deps import CatalogDep
from service.errors import problem_responses
from service.idtext import Prose
from service.policy_versions.service import (
    get_version,
    history,
    list_versions,
    store_policy,
    withdraw_policy,
)
from service.routers.params import RegionPrefixQuery
from service.routers.replays import answer_recorded
from service.routers.routes import recording
from service.schemas import InputModel
from service.unit_of_work import SessionDep

router = APIRouter(prefix="/v1/policies", tags=["policies"])

ContentHashPath = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="The version's content_hash (SHA-256, hex)")
]


class PolicyCreate(InputModel):
    source_text: str = Field(min_length=1, max_length=512_000, description="The YAML document")
    source_name: Prose = Field(default="api", max_length=200)
    reason: Prose = Field(
        default="", max_length=500, description="Why (kept in the version history)"
    )


class PolicyWithdrawalCreate(InputModel):
    reason: Prose = Field(min_length=1, max_length=500, description="Why it is withdrawn")


class PolicyVersionEventPublic(BaseModel):
    id: int
    region_code: str
    version: str
    content_hash: str
    action: str = Field(description="loaded | closed | withdrawn | reopened")
    effective_from: date
    effective_to: date | None = Field(description="The version's window after the action")
    actor: str
    reason: str
    created_at: datetime


class PolicyVersionPublic(BaseModel):
    id: int
    region_code: str
    version: str
    name: str
    effective_from: date
    effective_to: date | None
    inherits: str | None
    content_hash: str
    loaded_by: str
    created_at: datetime


class PolicyVersionDetail(PolicyVersionPublic):
    source_text: str


@recording(
    router.post,
    "",
    "Check and store a policy version (admin); a later start succeeds the open one",
    replayed=("the same version, stored already", PolicyVersionPublic),
    problems=(401, 403, 409, 422),
)
async def create_policy(
    body: PolicyCreate,
    response: Response,
    session: SessionDep,
    catalog: CatalogDep,
    admin: AdminDep,
) -> PolicyVersionPublic:
    recorded = await store_policy(
        session,
        text=body.source_text,
        source=body.source_name,
        loaded_by=admin.label,
        reason=body.reason,
    )
    catalog.invalidate()
    version = answer_recorded(response, recorded)
    return PolicyVersionPublic.model_validate(version, from_attributes=True)


@router.get("", responses=problem_responses(401))
async def get_policies(
    session: SessionDep, _: PrincipalDep, region: RegionPrefixQuery = None
) -> list[PolicyVersionPublic]:
    versions = await list_versions(session, region=region)
    return [PolicyVersionPublic.model_validate(v, from_attributes=True) for v in versions]


@router.get(
    "/history",
    responses=problem_responses(401),
    summary="The version history: loads, successions, withdrawals (who, when, why)",
)
async def get_policy_history(
    session: SessionDep, _: PrincipalDep, region: RegionPrefixQuery = None
) -> list[PolicyVersionEventPublic]:
    events = await history(session, region=region)
    return [PolicyVersionEventPublic.model_validate(e, from_attributes=True) for e in events]


@router.post(
    "/{withdraw_hash}/withdrawal",
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Withdraw a version not yet in effect that has settled nothing (admin)",
)
async def withdraw_policy_version(
    withdraw_hash: ContentHashPath,
    body: PolicyWithdrawalCreate,
    session: SessionDep,
    catalog: CatalogDep,
    admin: AdminDep,
) -> PolicyVersionPublic:
    public = PolicyVersionPublic.model_validate(
        await withdraw_policy(
            session,
            content_hash=withdraw_hash,
            actor=admin.label,
            reason=body.reason,
            today=today(),
        ),
        from_attributes=True,
    )
    catalog.invalidate()
    return public


@router.get(
    "/{content_hash}",
    responses=problem_responses(401, 404),
)
async def get_policy(
    content_hash: ContentHashPath, session: SessionDep, _: PrincipalDep
) -> PolicyVersionDetail:
    version = await get_version(session, content_hash)
    return PolicyVersionDetail.model_validate(version, from_attributes=True)
