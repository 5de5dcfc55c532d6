"""API keys: admins issue, list and revoke them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks
from pydantic import BaseModel, Field

from service.auth import Role
from service.auth.deps import AdminDep, KeyCache, KeyCacheDep
from service.auth.issuing import issue_checked_key
from service.auth.keys import IssuedKey, list_keys, revoke_key
from service.errors import problem_responses
from service.idtext import Identifier
from service.routers.routes import read
from service.schemas import REGION_PREFIX, Code, InputModel, PlainDigits
from service.unit_of_work import SessionDep, UnitOfWork, UnitOfWorkDep

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyCreate(InputModel):
    role: Literal["hospital", "auditor", "fund", "admin"]
    hospital_code: Code | None = None
    region_prefix: str | None = Field(default=None, pattern=REGION_PREFIX)
    fund_code: Code | None = None
    label: Identifier = Field(default="", max_length=128)


async def issue_as_asked(
    uow: UnitOfWork, body: KeyCreate, *, key_cache: KeyCache, issue_form: str | None = None
) -> IssuedKey:
    """The key a KeyCreate asks for (the API's and the console's), its codes checked; at most
    one per console form (`issue_form`, its one-time token). This process forgets that its
    prefix was unknown, so the key works here at once (ADR 0006)."""
    issued = await issue_checked_key(
        uow,
        role=Role(body.role),
        hospital_code=body.hospital_code,
        region_prefix=body.region_prefix,
        fund_code=body.fund_code,
        label=body.label,
        issue_form=issue_form,
    )
    key_cache.issued(issued.record.prefix)
    return issued


class KeyPublic(BaseModel):
    id: int
    role: str
    hospital_code: str | None
    region_prefix: str | None
    fund_code: str | None = None
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyIssued(KeyPublic):
    token: str = Field(description="Shown once; only its hash is stored.")


@router.post(
    "", status_code=201, response_model=KeyIssued, responses=problem_responses(401, 403, 404, 422)
)
async def create_key(
    body: KeyCreate, uow: UnitOfWorkDep, key_cache: KeyCacheDep, _: AdminDep
) -> KeyIssued:
    issued = await issue_as_asked(uow, body, key_cache=key_cache)
    public = KeyPublic.model_validate(issued.record, from_attributes=True)
    return KeyIssued(**public.model_dump(), token=issued.token)


@read(router, "", parameters=False, response_model=list[KeyPublic])
async def get_keys(session: SessionDep, _: AdminDep) -> list[KeyPublic]:
    return [KeyPublic.model_validate(k, from_attributes=True) for k in await list_keys(session)]


@router.post(
    "/{key_id}/revoke", response_model=KeyPublic, responses=problem_responses(401, 403, 404)
)
async def revoke(
    key_id: Annotated[int, PlainDigits],
    session: SessionDep,
    key_cache: KeyCacheDep,
    background: BackgroundTasks,
    _: AdminDep,
) -> KeyPublic:
    key = await revoke_key(session, key_id)
    key_cache.forget_after(background)
    return KeyPublic.model_validate(key, from_attributes=True)
