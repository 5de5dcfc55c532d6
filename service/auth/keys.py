"""Creating, revoking and verifying API keys.

Keys are 'sck_<prefix>_<secret>' with 192 bits of secret, so a fast SHA-256 is the right
hash: slow password hashes protect low-entropy secrets, and would cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.models import ApiKey
from service.auth.principal import Principal, Role
from service.auth.store import SqlKeyStore
from service.base import MAX_ROW_ID, utcnow
from service.errors import Conflict, NotFound, Unprocessable
from service.schemas import has_lower_case

KEY_SCHEME = "sck"


class KeyNotFound(NotFound):
    code = "api_key_not_found"


class InvalidKeyScope(Unprocessable):
    code = "invalid_key_scope"


class KeyFormUsed(Conflict):
    """The console form that issues a key was posted again (a double click, a re-post): it
    issued its one key the first time, whose token only that answer could show."""

    code, title = "key_form_used", "This form has already issued a key"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: int
    token: str
    principal: Principal
    record: ApiKey


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    parts = token.strip().split("_")
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(_sha256(secret), stored_sha256)


def principal_of(key: ApiKey) -> Principal:
    assert key.id is not None
    return Principal(
        key_id=key.id,
        role=Role(key.role),
        hospital_code=key.hospital_code,
        region_prefix=key.region_prefix,
        fund_code=key.fund_code,
    )


PREFIX_LEVELS = {2: "province", 4: "prefecture", 6: "county"}
"""The lengths a region prefix may have: a province's (2 digits), a prefecture's (4) or a
county's (6) code without its trailing zeros. A 3- or 5-digit prefix is no level of the code
(行政区划代码) and would scope a key to a slice of codes no region is named by."""


def check_scope(
    role: Role, hospital_code: str | None, region_prefix: str | None, fund_code: str | None
) -> None:
    """The scope a role's key must have, from what it says alone (whether its region, hospital
    and fund are registered is `service.auth.issuing`'s to ask)."""
    if role is Role.HOSPITAL and not hospital_code:
        raise InvalidKeyScope("a hospital key needs a hospital code", field="hospital_code")
    # The console's and the CLI's codes reach here unparsed: the API's rule (`schemas.Code`).
    for field, code in (("hospital_code", hospital_code), ("fund_code", fund_code)):
        if code and has_lower_case(code):
            raise InvalidKeyScope(
                f"{field} {code[:32]} is not upper case: codes are written in upper case, as "
                "NHSA institution codes are",
                field=field,
            )
    if role in (Role.AUDITOR, Role.FUND) and not (
        region_prefix
        and region_prefix.isascii()
        and region_prefix.isdigit()
        and len(region_prefix) in PREFIX_LEVELS
    ):
        article = "an" if role is Role.AUDITOR else "a"
        raise InvalidKeyScope(
            f"{article} {role.value} key needs a region prefix of 2, 4 or 6 digits "
            "(a province's, prefecture's or county's code without its trailing zeros)",
            field="region_prefix",
        )
    if role is not Role.HOSPITAL and hospital_code:
        # Dropped silently, it would let the admin believe the key is held to that hospital.
        raise InvalidKeyScope("only a hospital key has a hospital code", field="hospital_code")
    if role is Role.HOSPITAL and region_prefix:
        raise InvalidKeyScope(
            "a hospital key is scoped by its hospital, not a region prefix", field="region_prefix"
        )
    if role is Role.FUND and not fund_code:
        raise InvalidKeyScope("a fund key needs a fund code", field="fund_code")
    if role is not Role.FUND and fund_code:
        raise InvalidKeyScope("only a fund key has a fund code", field="fund_code")
    if role is Role.ADMIN and (hospital_code or region_prefix):
        raise InvalidKeyScope("an admin key has no hospital or region scope", field="role")


def new_prefix() -> str:
    """A new key's public prefix: 8 hex digits, random."""
    return secrets.token_hex(4)


async def issue_key(
    session: AsyncSession,
    *,
    role: Role,
    hospital_code: str | None = None,
    region_prefix: str | None = None,
    fund_code: str | None = None,
    label: str = "",
    issue_form: str | None = None,
) -> IssuedKey:
    """A new key (`Duplicate` if `issue_form`, the console form's one-time token, issued one)."""
    check_scope(role, hospital_code, region_prefix, fund_code)
    prefix = new_prefix()
    secret = secrets.token_urlsafe(24).replace("_", "x")
    key = ApiKey(
        prefix=prefix,
        secret_sha256=_sha256(secret),
        role=role.value,
        hospital_code=hospital_code if role is Role.HOSPITAL else None,
        region_prefix=region_prefix if role in (Role.AUDITOR, Role.FUND) else None,
        fund_code=fund_code if role is Role.FUND else None,
        label=label,
        issue_form=issue_form,
    )
    await SqlKeyStore(session).add(key)
    assert key.id is not None
    return IssuedKey(
        id=key.id, token=f"{KEY_SCHEME}_{prefix}_{secret}", principal=principal_of(key), record=key
    )


async def revoke_key(session: AsyncSession, key_id: int) -> ApiKey:
    store = SqlKeyStore(session)
    # Under the row's lock, so a double click revokes once and both answers show that time.
    key = await store.get(key_id, lock=True) if 0 < key_id <= MAX_ROW_ID else None
    if key is None:
        raise KeyNotFound(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await store.save(key)
    return key


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return await SqlKeyStore(session).all()


async def key_of_token(session: AsyncSession, token: str) -> ApiKey | None:
    """The stored key a pasted token is, or None when it is malformed, unknown, wrong or
    revoked (the console's sign-in; the demo's saved keys)."""
    parts = split_token(token)
    if parts is None:
        return None
    key = await find_by_prefix(session, parts[0])
    if key is None or key.revoked_at is not None or not secret_matches(parts[1], key.secret_sha256):
        return None
    return key


async def find_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return await SqlKeyStore(session).by_prefix(prefix)


async def key_labels(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """The labels of these keys (for showing who did what), revoked ones included."""
    return await SqlKeyStore(session).labels(ids)
