"""Issuing a key from the API or the console: the key's scope checked, and a fund key's fund
known, before anything is stored (one path for both, so the console cannot issue what the API
would refuse)."""

from __future__ import annotations

from service.auth import Role
from service.auth.keys import IssuedKey, issue_key
from service.clearing import service as clearing_service
from service.unit_of_work import UnitOfWork


async def issue_checked_key(
    uow: UnitOfWork,
    *,
    role: Role,
    hospital_code: str | None,
    region_prefix: str | None,
    fund_code: str | None,
    label: str,
) -> IssuedKey:
    if fund_code is not None:
        await clearing_service.require_fund(uow, fund_code=fund_code)
    return await issue_key(
        uow.session,
        role=role,
        hospital_code=hospital_code,
        region_prefix=region_prefix,
        fund_code=fund_code,
        label=label,
    )
