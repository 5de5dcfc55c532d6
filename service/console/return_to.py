"""A page opened signed out is the same page after signing in (ADR 0016, *A page that outlived
its session*).

An office works from filtered pages (/console/violations?status=open&hospital_code=…) kept open
for hours; when the session ran out, the next reload went to the sign-in page and signing in
landed on the first menu page, filter gone. Now the sign-in redirect names the page in `next`,
the sign-in form carries it in a hidden field, and signing in goes back to it.

`next` is what a stranger's link can set too, so what comes out of it is rebuilt, not passed on:
a path of this console's own pages (no scheme, host, dot segment or backslash; a route in
PAGES, so never a download, the sign-in or a form's POST), its declared filters only (the
fields of the query model the page parses; a flashed notice or anything else is dropped), for a
key whose role may open it, else the key's landing page. A GET carries nothing that changes
state, so a link with its filters is no more than a link to the filtered page itself.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Match

from service.auth import Principal
from service.console import access

NEXT = "next"
LOGIN = "/console/login"
# Decoded path: /console and segments of letters, digits, '_' and '-' (no '.', no '%', no '\').
SAFE_PATH = re.compile(r"/console(?:/[A-Za-z0-9_-]+)+")
LONGEST = 2000
MOST_FILTERS = 32


def _names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(f.alias or n for n, f in model.model_fields.items())


@cache
def pages() -> dict[str, frozenset[str]]:
    """The console pages a sign-in returns to (route path) and the query names each reads."""
    from service.console.trends import TrendQuery
    from service.routers.console_money import ClearingQuery
    from service.violations.params import PageQuery, PeriodQuery
    from service.yearend.schemas import YearEndPaymentsQuery

    none: frozenset[str] = frozenset()
    return {
        "/console/violations": _names(PageQuery),
        "/console/violations/{violation_id}": none,
        "/console/scoreboard": _names(PeriodQuery),
        "/console/indicators": _names(PeriodQuery),
        "/console/trends": _names(TrendQuery),
        "/console/clearing": _names(ClearingQuery),
        "/console/receivables": none,
        "/console/verify": none,
        "/console/keys": none,
        "/console/policies": none,
        "/console/policies/{content_hash}": none,
        "/console/hospitals": none,
        "/console/whatif": none,
        "/console/yearend": _names(YearEndPaymentsQuery),
    }


def _route_of(request: Request, path: str) -> str | None:
    scope = {"type": "http", "path": path, "method": "GET"}
    for route in request.app.router.routes:
        if isinstance(route, APIRoute) and route.path in pages():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route.path
    return None


def target(request: Request, raw: object) -> tuple[str, str] | None:
    """(address, route path) of a console page `raw` names, rebuilt from its checked parts; None
    for anything else."""
    if not isinstance(raw, str) or not raw or len(raw) > LONGEST or not raw.isprintable():
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not SAFE_PATH.fullmatch(path):
        return None
    route = _route_of(request, path)
    if route is None:
        return None
    wanted = pages()[route]
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k in wanted and v.strip()]
    query = urlencode(kept[:MOST_FILTERS])
    return quote(path) + (f"?{query}" if query else ""), route


def sign_in_address(request: Request) -> str:
    """Where a signed-out request goes: the sign-in page, naming the page it asked for."""
    if request.method not in ("GET", "HEAD"):
        return LOGIN
    found = target(
        request, request.url.path + (f"?{request.url.query}" if request.url.query else "")
    )
    return LOGIN if found is None else f"{LOGIN}?{urlencode({NEXT: found[0]})}"


def after_sign_in(request: Request, raw: object, principal: Principal) -> str | None:
    """The page to go back to after `principal` signed in, when it may open it."""
    found = target(request, raw)
    if found is None:
        return None
    address, route = found
    roles = access.CONSOLE_ACCESS[("GET", route)].roles
    return address if roles is None or principal.role in roles else None
