"""Console sign-in: a server-side session named by a random token in the cookie.

The cookie holds only the token; the database keeps its SHA-256, the API key it signed in with,
and when it expires or was ended. Each request reads that row and the key's, so a logout (on any
replica) or a revoked key ends the session at once (ADR 0016). The CSRF token is an HMAC of the
session token: forms carry it, and a forged cross-site form, which SameSite=Strict and the
Origin check (service/console/access.py) already stop, could not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal
from service.auth.deps import principal_of_token
from service.auth.keys import principal_of
from service.auth.models import ApiKey
from service.base import table_of, utcnow
from service.console.models import ConsoleSession
from service.errors import Forbidden, Unauthenticated

COOKIE = "settlecheck_console"
LIFETIME_SECONDS = 8 * 3600
# An expired session's row (and the browser's cookie naming it) is kept this much longer, so
# that a form posted after the 8 hours can still be told apart from a stranger's and carried
# through the sign-in page to the same key (service/console/carry.py). The token signs nothing in.
KEPT_AFTER_EXPIRY_SECONDS = 3 * 24 * 3600
COOKIE_MAX_AGE = LIFETIME_SECONDS + KEPT_AFTER_EXPIRY_SECONDS

SESSIONS = table_of(ConsoleSession)
KEYS = table_of(ApiKey)


class FormTokenInvalid(Forbidden):
    code = "console_form_token_invalid"
    title = "The form's CSRF token is missing or wrong"
    # The token is one of an earlier session of the signed-in key (signed in again in another
    # tab): the form comes back filled in, not emptied (service/console/answers.py).
    same_key: bool = False


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    csrf: str


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(request: Request, token: str, key_id: int) -> str:
    """The session's form token: an HMAC of the session's token, then a tag of its key, by
    which a form of an earlier session of the same key is told from anyone else's (its
    typing is shown again after the person signed in anew, service/console/answers.py)."""
    root = request.app.state.settings.id_hash_key.get_secret_value().encode()
    secret = hmac.new(root, b"settlecheck console csrf v2", hashlib.sha256).digest()
    mac = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()[:32]
    return mac + hmac.new(secret, f"key {key_id}".encode(), hashlib.sha256).hexdigest()[:8]


async def authenticate(request: Request, token: str) -> Principal | None:
    """The principal of a pasted API key, or None when it is malformed, unknown, wrong or
    revoked: the API's own check (its key cache, unknown prefixes remembered, ADR 0006), so
    a flood of made-up keys at the sign-in costs no more queries than at the API. A sign-in
    is one of the key's requests: it spends the key's rate limit (`rate_limited` past it)."""
    try:
        principal = await principal_of_token(request.app.state, token)
    except Unauthenticated:
        return None
    await request.app.state.rate_limiter.hit(principal.key_id)
    return principal


async def start(session: AsyncSession, *, key_id: int) -> str:
    """Record a new session and return the cookie's token. Sessions expired for longer than
    KEPT_AFTER_EXPIRY_SECONDS (their cookies are gone too) are deleted here, so the table holds
    no more than the last few days' sign-ins."""
    now = utcnow()
    forgotten = now - timedelta(seconds=KEPT_AFTER_EXPIRY_SECONDS)
    await session.exec(sa.delete(SESSIONS).where(SESSIONS.c.expires_at < forgotten))
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_sha256=_sha256(token),
            key_id=key_id,
            created_at=now,
            expires_at=now + timedelta(seconds=LIFETIME_SECONDS),
        )
    )
    await session.flush()
    return token


async def end(session: AsyncSession, token: str) -> None:
    """Logout: the session is over for every replica from the commit on."""
    stmt = (
        sa.update(SESSIONS)
        .where(SESSIONS.c.token_sha256 == _sha256(token), SESSIONS.c.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    await session.exec(stmt)


def cookie_token(request: Request) -> str:
    return request.cookies.get(COOKIE, "")[:128]


async def current_user(request: Request, session: AsyncSession) -> ConsoleUser | None:
    """The signed-in user of a live session with an unrevoked key, or None."""
    token = cookie_token(request)
    if not token:
        return None
    stmt = (
        sa.select(KEYS)
        .select_from(SESSIONS.join(KEYS, KEYS.c.id == SESSIONS.c.key_id))
        .where(
            SESSIONS.c.token_sha256 == _sha256(token),
            SESSIONS.c.ended_at.is_(None),
            SESSIONS.c.expires_at > utcnow(),
            KEYS.c.revoked_at.is_(None),
        )
    )
    row = (await session.exec(stmt)).first()  # type: ignore[call-overload]
    if row is None:
        return None
    key = ApiKey.model_validate(row._mapping)
    assert key.id is not None
    return ConsoleUser(principal_of(key), csrf_of(request, token, key.id))


async def expired_key_id(session: AsyncSession, token: str) -> int | None:
    """The key of a session that ran out its lifetime (not ended by a logout, its key not
    revoked): whose form a post after the expiry was. None for any other token."""
    stmt = (
        sa.select(SESSIONS.c.key_id)
        .select_from(SESSIONS.join(KEYS, KEYS.c.id == SESSIONS.c.key_id))
        .where(
            SESSIONS.c.token_sha256 == _sha256(token),
            SESSIONS.c.ended_at.is_(None),
            SESSIONS.c.expires_at <= utcnow(),
            KEYS.c.revoked_at.is_(None),
        )
    )
    found = (await session.exec(stmt)).first()  # type: ignore[call-overload]
    return None if found is None else int(found[0])


class SignInFirst(Exception):
    """No session, or an ended, expired or revoked one: the browser goes to the sign-in page
    (a 303 that ConsoleRoute answers as a redirect, not as a problem+json document)."""


def sign_in_first() -> SignInFirst:
    return SignInFirst("sign in first")


def check_csrf(user: ConsoleUser, token: str) -> None:
    token = token or ""
    if not hmac.compare_digest(user.csrf, token):
        refused = FormTokenInvalid("the form's CSRF token is missing or wrong; reload the page")
        tag = user.csrf[32:]
        refused.same_key = len(token) == len(user.csrf) and hmac.compare_digest(token[32:], tag)
        raise refused
