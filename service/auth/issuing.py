"""Issuing a key from the API, the console or the CLI: the key's scope checked, and a hospital
key's hospital and a fund key's fund registered, before anything is stored (one path for all
three, so none can issue what another would refuse)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from service import db
from service.auth import Role
from service.auth.keys import (
    PREFIX_LEVELS,
    InvalidKeyScope,
    IssuedKey,
    KeyFormUsed,
    check_scope,
    issue_key,
)
from service.clearing import service as clearing_service
from service.errors import Unprocessable
from service.idtext import Identifier, refuse_resident_id
from service.regions import service as regions_service
from service.unit_of_work import UnitOfWork


async def issue_checked_key(
    uow: UnitOfWork,
    *,
    role: Role,
    hospital_code: str | None,
    region_prefix: str | None,
    fund_code: str | None,
    label: str,
    issue_form: str | None = None,
) -> IssuedKey:
    """The key asked for; `issue_form`, the console form's one-time token, issues one key at
    most (KeyFormUsed the second time)."""
    check_scope(role, hospital_code, region_prefix, fund_code)
    label = _checked_label(label)
    if region_prefix is not None:
        await _require_region(uow, region_prefix)
    if role is Role.HOSPITAL and hospital_code is not None:
        await regions_service.require_hospital(uow, hospital_code=hospital_code)
    if fund_code is not None:
        await clearing_service.require_fund(uow, fund_code=fund_code)
    # The form's token is taken: that form issued its key (a double click, a re-post).
    used = KeyFormUsed(
        "this form has already issued a key and issues no second one; if this page does "
        "not show the new key, revoke the newest key and issue another"
    )
    with db.on_duplicate_raise(used):
        return await issue_key(
            uow.session,
            role=role,
            hospital_code=hospital_code,
            region_prefix=region_prefix,
            fund_code=fund_code,
            label=label,
            issue_form=issue_form,
        )


LABEL_MOST = 128  # the column's length (ApiKey.label)
_LABEL: TypeAdapter[str] = TypeAdapter(Annotated[Identifier, Field(max_length=LABEL_MOST)])


def _checked_label(label: str) -> str:
    """The API's rule for a label (`KeyCreate.label`) for the CLI, whose label arrives unparsed:
    no resident ID number (the label names the actor of every ledger step), one line of text,
    at most 128 characters."""
    refuse_resident_id(label, field="label")
    try:
        return _LABEL.validate_python(label)
    except ValidationError as exc:
        raise Unprocessable(f"label {exc.errors()[0]['msg'].lower()}", field="label") from None


async def _require_region(uow: UnitOfWork, prefix: str) -> None:
    """A prefix names a registered region of its level ("99" the province 990000, "9901" the
    prefecture 990100): one that names none would scope the key to nothing."""
    code, level = prefix.ljust(6, "0"), PREFIX_LEVELS[len(prefix)]
    region = await uow.regions.region(code)
    if region is None or region.level != level:
        raise InvalidKeyScope(
            f"region prefix {prefix} names no registered {level} ({code}): register the "
            "region first, or give the prefix of one that is",
            field="region_prefix",
        )
