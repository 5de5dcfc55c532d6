"""Console sign-in: a signed cookie that names the API key, never holds it.

The cookie carries the key's id and public prefix, a random nonce and an expiry, signed with
an HMAC key derived from the service's secret. Each request re-reads the key row, so a revoked
key ends its console sessions at once. The CSRF token is an HMAC of the nonce: forms carry it,
and a forged cross-site form (which SameSite=Strict already keeps the cookie from) cannot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException

from service.auth import Principal, Role
from service.auth.keys import find_by_prefix, principal_of, secret_matches, split_token

COOKIE = "settlecheck_console"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    csrf: str


def _secret(request: Request) -> bytes:
    root = request.app.state.settings.id_hash_key.get_secret_value().encode()
    return hmac.new(root, b"settlecheck console session v1", hashlib.sha256).digest()


def _mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def sign_session(request: Request, *, key_id: int, prefix: str) -> str:
    payload = {
        "k": key_id,
        "p": prefix,
        "n": secrets.token_hex(16),
        "e": int(time.time()) + LIFETIME_SECONDS,
    }
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return f"{body}.{_mac(_secret(request), body)}"


def _payload(request: Request) -> dict[str, object] | None:
    value = request.cookies.get(COOKIE, "")
    body, _, mac = value.partition(".")
    if not body or not hmac.compare_digest(mac, _mac(_secret(request), body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body))
    except ValueError:
        return None
    if not isinstance(data, dict) or int(data.get("e", 0)) < time.time():
        return None
    return data


def csrf_of(request: Request, nonce: str) -> str:
    return _mac(_secret(request), f"csrf:{nonce}")[:32]


async def authenticate(session: AsyncSession, token: str) -> Principal | None:
    """The principal of a pasted API key, or None when it is unknown, wrong or revoked."""
    parts = split_token(token)
    if parts is None:
        return None
    key = await find_by_prefix(session, parts[0])
    if key is None or key.revoked_at is not None or not secret_matches(parts[1], key.secret_sha256):
        return None
    if key.role == Role.FUND.value:
        # The console shows the violation ledger, which is no fund's to read.
        return None
    return principal_of(key)


async def console_user(request: Request, session: AsyncSession) -> ConsoleUser:
    """The signed-in user, or a 303 to the sign-in page."""
    data = _payload(request)
    if data is not None:
        key = await find_by_prefix(session, str(data["p"]))
        if key is not None and key.id == data["k"] and key.revoked_at is None:
            return ConsoleUser(principal_of(key), csrf_of(request, str(data["n"])))
    raise HTTPException(303, "sign in first", headers={"Location": "/console/login"})


def check_csrf(user: ConsoleUser, token: str) -> None:
    if not hmac.compare_digest(user.csrf, token or ""):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
