"""The request's principal, and route dependencies that say which roles may call."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any, NamedTuple

from fastapi import BackgroundTasks, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from service.auth.keys import find_by_prefix, principal_of, secret_matches, split_token
from service.auth.models import PREFIX_MOST
from service.auth.principal import Principal, Role
from service.db import is_database_unavailable
from service.errors import Forbidden, RateLimited, Unauthenticated
from service.unit_of_work import unit_of_work

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="sck_… API key")


UNKNOWN_SECONDS = 5.0
"""How long a prefix that no key has is answered from memory (at most the cache's `ttl`): a
caller sending made-up keys costs a query per prefix, not per request. Issuing a key forgets
its prefix in the issuing process; elsewhere (another replica, the CLI) a key whose prefix was
tried in the seconds before it was issued (a random 8 hex digits: never, in practice) works
after this long at most."""
UNKNOWN_MOST = 4096
"""Unknown prefixes remembered at most (the oldest forgotten first): a flood of distinct ones
holds a few hundred kB, and never pushes a verified key out."""


class KeyCache:
    """Verified keys for a few seconds, so a request does not pay a query for its key.
    Revocation reaches every replica within `ttl` seconds (settings.auth_cache_seconds).
    Prefixes that no key has, for `UNKNOWN_SECONDS` (ADR 0006)."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[str, tuple[float, str, Principal | None]] = {}
        self.unknown: OrderedDict[str, float] = OrderedDict()  # prefix -> until, oldest first

    def get(self, prefix: str) -> tuple[str, Principal | None] | None:
        item = self._items.get(prefix)
        if item is None or item[0] < self._clock():
            return None
        return item[1], item[2]

    def put(self, prefix: str, secret_sha256: str, principal: Principal | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[prefix] = (self._clock() + self.ttl, secret_sha256, principal)

    def is_unknown(self, prefix: str) -> bool:
        """Whether no key had `prefix` when it was last asked for, a few seconds ago."""
        until = self.unknown.get(prefix)
        if until is None:
            return False
        if until < self._clock():
            del self.unknown[prefix]
            return False
        return True

    def put_unknown(self, prefix: str) -> bool:
        """Remember that no key has `prefix` (False: this cache remembers nothing)."""
        seconds = min(self.ttl, UNKNOWN_SECONDS)
        if seconds <= 0:
            return False
        self.unknown[prefix] = self._clock() + seconds
        self.unknown.move_to_end(prefix)  # one lifetime for all: the order is that of expiry
        while len(self.unknown) > UNKNOWN_MOST:
            self.unknown.popitem(last=False)
        return True

    def issued(self, prefix: str) -> None:
        """A key with `prefix` was just issued here: it is known from now on."""
        self.unknown.pop(prefix, None)

    def clear(self) -> None:
        self._items.clear()

    def forget_after(self, background: BackgroundTasks) -> None:
        """After a revocation: the verified keys are forgotten now, and again once the
        response is sent (the unit of work has committed by then). A request that read the key
        between the two, before the commit, would have cached it as valid for `ttl`."""
        self.clear()
        background.add_task(self.clear)
        self.unknown.clear()


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _api_key(scope: Scope) -> str | None:
    """request.headers.get("x-api-key") without building a Headers: the first X-API-Key
    (ASGI servers lower-case header names)."""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


_PRINCIPAL = "settlecheck.principal"  # the request's authenticated principal, in its scope
_REFUSAL_COUNTED = "settlecheck.refusal_counted"  # count_refused has seen this request


def _unauthenticated(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, headers={"WWW-Authenticate": "ApiKey"})


async def principal_of_token(state: Any, token: str) -> Principal:
    """The principal of `token` (an API key), or `Unauthenticated` saying why not: the one check
    of a key, for the API's header and the console's sign-in alike. Answered from the
    KeyCache when it holds the key's prefix (no query, no session); a prefix no key has is
    remembered for a few seconds, so made-up keys cost a query per prefix, not per attempt
    (ADR 0006). Counts nothing: the caller spends the key's rate limit."""
    parts = split_token(token)
    if parts is None:
        raise _unauthenticated("the API key is malformed")
    prefix, secret = parts
    cache: KeyCache = state.key_cache
    cached = cache.get(prefix)
    if cached is None:
        if len(prefix) > PREFIX_MOST or cache.is_unknown(prefix):
            raise _unauthenticated("unknown API key")
        async with unit_of_work(state.sessionmaker) as uow:
            key = await find_by_prefix(uow.session, prefix)
        if key is None:
            cache.put_unknown(prefix)
            raise _unauthenticated("unknown API key")
        principal = principal_of(key) if key.revoked_at is None else None
        cache.put(prefix, key.secret_sha256, principal)
        cached = (key.secret_sha256, principal)
    stored_hash, principal = cached
    if not secret_matches(secret, stored_hash):
        raise _unauthenticated("unknown API key")
    if principal is None:
        raise _unauthenticated("this API key has been revoked")
    return principal


async def authenticate(request: Request, token: str | None) -> Principal:
    """The principal of `token` (`principal_of_token`), counted against the key's rate limit,
    once: a second dependency of the same request gets the principal already found."""
    found: Principal | None = request.scope.get(_PRINCIPAL)
    if found is not None:
        return found
    token = token or _bearer(request)
    if not token:
        raise _unauthenticated("send your API key in the X-API-Key header")
    state = request.app.state
    principal = await principal_of_token(state, token)
    await state.rate_limiter.hit(principal.key_id)
    # request.state.principal, without building a State for it (the dict State wraps)
    request.scope.setdefault("state", {})["principal"] = principal
    request.scope[_PRINCIPAL] = principal
    return principal


async def get_principal(
    request: Request, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> Principal:
    return await authenticate(request, api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def count_refused(request: Request, refusal: Exception) -> RateLimited | None:
    """Count a request refused before its route checked the key against the key's rate limit,
    as an accepted one is counted: the `rate_limited` refusal when the key is past its limit,
    else None (the request keeps its own refusal). A body that is not JSON, a repeated key, a
    query parameter no route declares, a media type: each is refused ahead of the dependencies,
    so without this a key could send such requests without limit (ADR 0006, amendment). Only
    the refusal path pays for it: an accepted request was counted by its route's key check
    (the principal in the scope). A missing, unknown or revoked key leaves the refusal as it
    is (a syntax error stays a 422 without a key), and so does a route that takes no key or a
    key the database is down to check."""
    scope = request.scope
    if (
        _PRINCIPAL in scope
        or _REFUSAL_COUNTED in scope
        or isinstance(refusal, Unauthenticated | RateLimited)
        or not _takes_key(scope.get("route"))
    ):
        return None
    scope[_REFUSAL_COUNTED] = True  # once, though the refusal meets more than one handler
    token = _api_key(scope) or _bearer(request)
    if not token:
        return None
    try:
        await authenticate(request, token)
    except Unauthenticated:
        return None
    except RateLimited as limited:
        return limited
    except Exception as error:
        if not is_database_unavailable(error):
            raise
        # The key cannot be checked, so it cannot be counted; the request is still wrong in
        # the way its refusal says, which a 503 ("send it again") would hide.
        return None
    return None


_TOO_LARGE = StarletteHTTPException(413)


async def count_too_large(scope: Scope) -> RateLimited | None:
    """`count_refused` for a body over the size limit, which BodySizeLimitMiddleware refuses
    (413) before any route runs (by its Content-Length) or while FastAPI reads it ahead of the
    route's dependencies (a stream): no key check counted it, so a key could send oversized
    bodies without limit. The key is a header, read without the body; the route that would
    have checked it is the one the router chose, or is matched here (the refusal's cost only)."""
    if scope.get("route") is None:  # refused by its Content-Length: no route has run
        route = _route_of(scope)
        if route is None:
            return None
        scope = {**scope, "route": route}
    # Else the request's own scope: a key its route checked already is not counted again.
    return await count_refused(Request(scope), _TOO_LARGE)


def _route_of(scope: Scope) -> APIRoute | None:
    for route in scope["app"].router.routes:
        if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
            return route
    return None


def _takes_key(route: object) -> bool:
    """Whether the route checks an API key (one of this module's dependencies). Read from its
    dependency tree on each refusal (a few nodes), never on an accepted request."""
    if not isinstance(route, APIRoute):
        return False
    return any(
        d.call is get_principal or isinstance(d.call, _KeyOfRoles)
        for d in _dependencies(route.dependant)
    )


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


class _KeyOfRoles(APIKeyHeader):
    """The whole check as ONE dependency: key, principal, rate limit and role. Each level of
    dependencies costs FastAPI about as much to solve as the check itself (ADR 0020). As an
    APIKeyHeader the route still declares the X-API-Key scheme in the OpenAPI document."""

    def __init__(self, roles: frozenset[Role]) -> None:
        super().__init__(
            name="X-API-Key",
            auto_error=False,
            description="sck_… API key",
            scheme_name="APIKeyHeader",
        )
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = await authenticate(request, _api_key(request.scope))
        if principal.role not in self.roles:
            names = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"this operation is for {names} keys; yours is {principal.role.value}")
        return principal


class HospitalCaller(NamedTuple):
    """A hospital key's principal and the hospital code it is bound to."""

    principal: Principal
    code: str


class _HospitalCaller(_KeyOfRoles):
    """A hospital key's principal, checked as above, with its hospital code."""

    def __init__(self) -> None:
        super().__init__(frozenset({Role.HOSPITAL}))

    async def __call__(self, request: Request) -> HospitalCaller:  # type: ignore[override]
        principal = await super().__call__(request)
        code = principal.hospital_code
        if not code:  # a hospital key is always issued with its code (keys.py); never trust it
            raise Forbidden("this hospital key is bound to no hospital")
        return HospitalCaller(principal, code)


class _HospitalCode(_HospitalCaller):
    """The same check, answering the hospital code only."""

    async def __call__(self, request: Request) -> str:  # type: ignore[override]
        return (await super().__call__(request)).code


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    return _KeyOfRoles(frozenset(roles))


HospitalDep = Annotated[Principal, Depends(require_roles(Role.HOSPITAL))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
AuditorOrHospitalDep = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.HOSPITAL, Role.ADMIN))
]
AuditorDep = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]
"""An auditor (its region) or an admin (everywhere)."""

HospitalCallerDep = Annotated[HospitalCaller, Depends(_HospitalCaller())]
"""The calling hospital's principal and code, one dependency for a route that needs both (each
dependency costs a solve per request, ADR 0020)."""

HospitalCodeDep = Annotated[str, Depends(_HospitalCode())]
"""The calling hospital's code (a hospital key only). With HospitalDep beside it, the key is
checked once: the second finds the principal the first stored in the request's scope."""


async def _key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


KeyCacheDep = Annotated[KeyCache, Depends(_key_cache)]


# Clearing (service/clearing): who reads statements (each in its scope, a fund key its own
# fund), who closes a month, who reconciles a fund's file, who records a fund's payment.
ClearingReaderDep = Annotated[
    Principal, Depends(require_roles(Role.HOSPITAL, Role.AUDITOR, Role.FUND, Role.ADMIN))
]
ClearingCloserDep = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.FUND))]
ClearingReconcilerDep = Annotated[
    Principal, Depends(require_roles(Role.FUND, Role.AUDITOR, Role.ADMIN))
]
ClearingPayerDep = Annotated[Principal, Depends(require_roles(Role.FUND, Role.ADMIN))]
