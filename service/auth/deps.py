"""The request's principal, and route dependencies that say which roles may call."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from service.auth.keys import find_by_prefix, principal_of, secret_matches, split_token
from service.auth.principal import Principal, Role
from service.errors import Forbidden, Unauthenticated
from service.unit_of_work import unit_of_work

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="sck_… API key")


class KeyCache:
    """Verified keys for a few seconds, so a request does not pay a query for its key.
    Revocation reaches every replica within `ttl` seconds (settings.auth_cache_seconds)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, str, Principal | None]] = {}

    def get(self, prefix: str) -> tuple[str, Principal | None] | None:
        item = self._items.get(prefix)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1], item[2]

    def put(self, prefix: str, secret_sha256: str, principal: Principal | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[prefix] = (time.monotonic() + self.ttl, secret_sha256, principal)

    def clear(self) -> None:
        self._items.clear()


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


async def get_principal(
    request: Request, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> Principal:
    token = api_key or _bearer(request)
    if not token:
        raise Unauthenticated(
            "send your API key in the X-API-Key header", headers={"WWW-Authenticate": "ApiKey"}
        )
    parts = split_token(token)
    if parts is None:
        raise Unauthenticated("the API key is malformed", headers={"WWW-Authenticate": "ApiKey"})
    prefix, secret = parts
    cache: KeyCache = request.app.state.key_cache
    cached = cache.get(prefix)
    if cached is None:
        async with unit_of_work(request.app.state.sessionmaker) as uow:
            key = await find_by_prefix(uow.session, prefix)
        if key is None:
            raise Unauthenticated("unknown API key", headers={"WWW-Authenticate": "ApiKey"})
        principal = principal_of(key) if key.revoked_at is None else None
        cache.put(prefix, key.secret_sha256, principal)
        cached = (key.secret_sha256, principal)
    stored_hash, principal = cached
    if not secret_matches(secret, stored_hash):
        raise Unauthenticated("unknown API key", headers={"WWW-Authenticate": "ApiKey"})
    if principal is None:
        raise Unauthenticated(
            "this API key has been revoked", headers={"WWW-Authenticate": "ApiKey"}
        )
    await request.app.state.rate_limiter.hit(principal.key_id)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    allowed = frozenset(roles)

    async def _dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"this operation is for {names} keys; yours is {principal.role.value}")
        return principal

    return _dependency


HospitalDep = Annotated[Principal, Depends(require_roles(Role.HOSPITAL))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
AuditorOrHospitalDep = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.HOSPITAL, Role.ADMIN))
]
AuditorDep = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]
"""An auditor (its region) or an admin (everywhere)."""


async def _hospital_code(principal: HospitalDep) -> str:  # async: no thread-pool hop
    code = principal.hospital_code
    if not code:  # a hospital key is always issued with its code (keys.py); never trust it blindly
        raise Forbidden("this hospital key is bound to no hospital")
    return code


HospitalCodeDep = Annotated[str, Depends(_hospital_code)]
"""The calling hospital's code (a hospital key only)."""


async def _key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


KeyCacheDep = Annotated[KeyCache, Depends(_key_cache)]
