"""管理: the console pages of an admin key - API keys (issue, revoke), policy versions (read) and
the hospital directory (read, register or change a hospital).

The same services as /v1/keys, /v1/policies and /v1/hospitals; who may open each page is declared in
service/console/access.py like every console route. A new key's token is shown once, on the page
the issuing form redirects to, and never again (only its hash is stored; service/console/issued.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response

from service.auth import Role
from service.auth.deps import KeyCacheDep
from service.auth.keys import list_keys, revoke_key
from service.console import issued
from service.console import session as console
from service.console.views import page
from service.deps import SettingsDep
from service.policy_versions.service import get_version, list_versions
from service.regions import service as directory
from service.regions.schemas import HospitalCreate, HospitalRow
from service.routers.console import FormUserDep, UserDep, console_router, flash_back, flashed
from service.routers.keys import KeyCreate, issue_as_asked
from service.routers.params import RowId
from service.unit_of_work import SessionDep, UnitOfWorkDep
from service.violations.params import parse_form

router = console_router()


async def _keys_page(session: SessionDep, user: console.ConsoleUser, **context: Any) -> Response:
    keys = sorted(await list_keys(session), key=lambda k: (k.revoked_at is not None, -(k.id or 0)))
    return page(
        "keys.html",
        user=user,
        nav="keys",
        keys=keys,
        roles=[r.value for r in Role],
        once=issued.form_token(),
        **context,
    )


@router.get("/keys")
async def keys_page(
    request: Request, session: SessionDep, user: UserDep, settings: SettingsDep
) -> Response:
    context: dict[str, Any] = {**flashed(request, user)}
    if fresh := await issued.handed_over(request, session):
        context |= {"issued": fresh, "message": "密钥已签发：请立即复制保存"}
    response = await _keys_page(session, user, **context)
    issued.shown(request, response, secure=settings.https_only)
    return response


@router.post("/keys")
async def issue(
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    user: FormUserDep,
    key_cache: KeyCacheDep,
    role: Annotated[str, Form(max_length=16)],
    once: Annotated[str, Form(pattern=issued.FORM_TOKEN)],
    label: Annotated[str, Form(max_length=128)] = "",
    hospital_code: Annotated[str, Form(max_length=32)] = "",
    region_prefix: Annotated[str, Form(max_length=6)] = "",
    fund_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Issue a key under the API's rules (KeyCreate: the codes' patterns, no ID number in the
    label); an empty field is one not given."""
    typed = {"role": role, "label": label, "hospital_code": hospital_code}
    typed |= {"region_prefix": region_prefix, "fund_code": fund_code}
    body = parse_form(KeyCreate, {k: v.strip() for k, v in typed.items()}, what="the key")
    fresh = await issue_as_asked(uow, body, key_cache=key_cache, issue_form=once)
    # Post/Redirect/Get: a reload of the page that shows the token issues no second key.
    response = RedirectResponse("/console/keys", status_code=303)
    issued.hand_over(response, fresh, secure=settings.https_only)
    return response


@router.post("/keys/{key_id}/revoke")
async def revoke(
    key_id: RowId,
    session: SessionDep,
    user: FormUserDep,
    key_cache: KeyCacheDep,
    background: BackgroundTasks,
) -> Response:
    if key_id == user.principal.key_id:  # an admin who revokes their own key locks themselves out
        return flash_back("/console/keys", user, error="不能停用当前登录所用的密钥")
    await revoke_key(session, key_id)  # an unknown key is a 404, as in the API
    key_cache.forget_after(background)
    return flash_back("/console/keys", user, msg=f"密钥 #{key_id} 已停用")


@router.get("/policies")
async def policies_page(session: SessionDep, user: UserDep) -> Response:
    versions = sorted(await list_versions(session), key=lambda v: (v.region_code, v.effective_from))
    return page("policies.html", user=user, nav="policies", versions=versions)


@router.get("/policies/{content_hash}")
async def policy_page(content_hash: str, session: SessionDep, user: UserDep) -> Response:
    version = await get_version(session, content_hash)
    return page("policy.html", user=user, nav="policies", version=version)


async def _hospitals_page(
    uow: UnitOfWorkDep, user: console.ConsoleUser, **context: Any
) -> Response:
    regions = await directory.list_regions(uow, prefix=None)
    return page(
        "hospitals.html",
        user=user,
        nav="hospitals",
        regions=regions,
        counties=[r for r in regions if r.level == "county"],
        names={r.code: r.name for r in regions},
        hospitals=await directory.list_hospitals(uow, principal=user.principal, prefix=None),
        **context,
    )


@router.get("/hospitals")
async def hospitals_page(request: Request, uow: UnitOfWorkDep, user: UserDep) -> Response:
    return await _hospitals_page(uow, user, **flashed(request, user))


@router.post("/hospitals")
async def put_hospital(
    uow: UnitOfWorkDep,
    user: FormUserDep,
    code: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=128)] = "",
    county_code: Annotated[str, Form(max_length=6)] = "",
    level: Annotated[str, Form(max_length=16)] = "",
    tier: Annotated[str, Form(max_length=16)] = "",
    designated: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Register or change a hospital as PUT /v1/hospitals/{code} does, then back to the page
    with the outcome (a refusal is the page again with the form as sent: ConsoleRoute)."""
    form = {
        "code": code.strip(),
        "name": name.strip(),
        "county_code": county_code.strip(),
        "level": level,
        "tier": tier,
        "designated": {"yes": "true", "": "false"}.get(designated, designated),
    }
    # The checkbox sends "yes" or nothing; anything else is refused by the row's flag.
    flag: str | bool = {"yes": True, "": False}.get(designated, designated)
    row = parse_form(HospitalRow, {**form, "designated": flag}, what="the hospital")
    body = HospitalCreate.model_validate(row.model_dump(exclude={"code"}))
    stored = await directory.put_hospital(uow, code=row.code, body=body, code_field="code")
    done = {"created": "已登记", "changed": "已修改", "unchanged": "无变化"}[stored.outcome]
    return flash_back(
        "/console/hospitals", user, msg=f"医院 {stored.entry.code} {stored.entry.name}：{done}"
    )
