"""Every console route, with every role, answers as the API does for the same data.

The walk enumerates the app's routes under /console, so a page added without an entry here (and
in service/console/access.py) fails this test instead of shipping with its own idea of who may
see what. Outcomes are compared as classes: reached (the caller got through to the data or to a
business answer about it), login (401 / a redirect to the sign-in page), forbidden (403) and
hidden (404).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from service.auth import Role
from service.policy_versions.shipped import shipped_versions
from tests import factories as f
from tests.conftest import KeyFactory

ORIGIN = "http://testserver"
MISSING_ID = 987_654
SHIPPED_POLICY = next(v.content_hash for v in shipped_versions(loaded_by="tests"))


@dataclass(frozen=True)
class Call:
    """One request to a console route and, when it has one, the same request to its API twin."""

    console_path: str
    params: dict[str, str] = field(default_factory=dict)
    api_path: str | None = None
    api_json: dict[str, Any] | None = None
    compare: str = "outcome"  # or "ids" / "payments" (list pages) or "body" (exports)


def _calls(ids: dict[str, int]) -> dict[tuple[str, str], list[Call]]:
    """Requests per console route; the keys must be exactly the app's console routes."""
    own, neighbour = ids["own"], ids["neighbour"]
    regions = [{}, {"region": f.COUNTY}, {"region": f.NEIGHBOUR_COUNTY}, {"region": "11"}]
    ledger_filters = [*regions, {"hospital_code": f.NEIGHBOUR_HOSPITAL}]
    transition = {"to_status": "verified"}  # never a legal step from open: reached = 409
    statements = [
        {"fund_code": fund, "hospital_code": hospital, "period": "2026-03"}
        for fund, hospital in (
            ("F99-BASIC", f.COUNTY_HOSPITAL),
            ("F99-CRITICAL", f.COUNTY_HOSPITAL),  # another fund: hidden from a fund key
            ("F99-BASIC", f.NEIGHBOUR_HOSPITAL),
            ("F00-NONE", f.COUNTY_HOSPITAL),
        )
    ]
    # a proposal in the demo county, and one in another province (hidden from its auditors)
    proposals = [
        {"source_text": _proposal(region), "over": 2024} for region in (f.COUNTY, "110101")
    ]
    year_ends = [
        {"region_code": region, "plan_year": "2024"}
        for region in (f.COUNTY, f.NEIGHBOUR_COUNTY, "990000", "110101")
    ]
    return {
        ("GET", "/console"): [Call("/console")],
        ("GET", "/console/"): [Call("/console/")],
        ("GET", "/console/static/console.css"): [Call("/console/static/console.css")],
        ("GET", "/console/login"): [Call("/console/login")],
        ("POST", "/console/login"): [],  # tests/console/test_console_sessions.py
        ("POST", "/console/logout"): [],  # tests/console/test_console_sessions.py
        ("GET", "/console/violations"): [
            Call("/console/violations", p, "/v1/violations", compare="ids") for p in ledger_filters
        ],
        ("GET", "/console/violations/export.{fmt}"): [
            Call("/console/violations/export.csv", p, "/v1/violations/export.csv", compare="body")
            for p in ledger_filters
        ],
        ("GET", "/console/violations/{violation_id}"): [
            Call(f"/console/violations/{i}", {}, f"/v1/violations/{i}")
            for i in (own, neighbour, MISSING_ID)
        ],
        ("POST", "/console/violations/{violation_id}/transitions"): [
            Call(
                f"/console/violations/{i}/transitions",
                transition,
                f"/v1/violations/{i}/transitions",
                api_json=transition,
            )
            for i in (own, neighbour, MISSING_ID)
        ],
        ("GET", "/console/scoreboard"): [
            Call("/console/scoreboard", p, "/v1/violations/scoreboard") for p in regions
        ],
        ("GET", "/console/scoreboard/export.{fmt}"): [
            Call(
                "/console/scoreboard/export.csv",
                p,
                "/v1/violations/scoreboard/export.csv",
                compare="body",
            )
            for p in regions
        ],
        ("GET", "/console/indicators"): [
            Call("/console/indicators", p, "/v1/indicators") for p in regions
        ],
        ("GET", "/console/trends"): [Call("/console/trends", p, "/v1/indicators") for p in regions],
        ("GET", "/console/clearing"): [
            Call("/console/clearing", p, "/v1/clearing/statement") for p in statements
        ],
        # a statement none closed: hidden from every reader, as through the API
        ("GET", "/console/clearing/statements/{statement_id}/export.{fmt}"): [
            Call(
                f"/console/clearing/statements/{MISSING_ID}/export.csv",
                {},
                f"/v1/clearing/statements/{MISSING_ID}/export",
            )
        ],
        ("GET", "/console/receivables"): [
            Call("/console/receivables", {}, "/v1/receivables/overdue")
        ],
        ("GET", "/console/keys"): [Call("/console/keys", {}, "/v1/keys")],
        # an unknown role: the admin reaches a 422 on both sides; nobody else gets that far
        ("POST", "/console/keys"): [
            Call("/console/keys", {"role": "mayor"}, "/v1/keys", api_json={"role": "mayor"})
        ],
        ("POST", "/console/keys/{key_id}/revoke"): [
            Call(f"/console/keys/{MISSING_ID}/revoke", {}, f"/v1/keys/{MISSING_ID}/revoke")
        ],
        # the policy pages are the admin's desk: their twin for the role rule is /v1/keys
        ("GET", "/console/policies"): [Call("/console/policies", {}, "/v1/keys")],
        ("GET", "/console/policies/{content_hash}"): [
            Call(f"/console/policies/{SHIPPED_POLICY}", {}, "/v1/keys")
        ],
        # 医院名录, the admin's desk too (its API writes are PUTs: the role twin is /v1/keys,
        # and a hospital code that cannot be one reaches a 422 as the unknown role does)
        ("GET", "/console/hospitals"): [Call("/console/hospitals", {}, "/v1/keys")],
        ("POST", "/console/hospitals"): [
            Call("/console/hospitals", {"code": "no such code!"}, "/v1/keys", {"role": "mayor"})
        ],
        # the form itself: the what-if's roles, which are the indicators' (a GET twin)
        ("GET", "/console/whatif"): [Call("/console/whatif", {}, "/v1/indicators")],
        ("POST", "/console/whatif"): [
            Call("/console/whatif", {**whatif, "over": "2024"}, "/v1/policies/whatif", whatif)
            for whatif in proposals
        ],
        # 年度补足: the year-end API's rule (auditors within their region, admins). The
        # form alone (an API read with no region is a 422: reached), the booked rows of each
        # region (the same rows as the API's, none of another county's), a dry run (a booking
        # would change what the next visitor sees) and the download.
        ("GET", "/console/yearend"): [
            Call("/console/yearend", {}, "/v1/year-end/payments"),
            *(
                Call("/console/yearend", p, "/v1/year-end/payments", compare="payments")
                for p in year_ends
            ),
        ],
        ("POST", "/console/yearend"): [
            Call(
                "/console/yearend",
                {**p, "action": "dry_run"},
                "/v1/year-end/runs",
                api_json={**p, "plan_year": 2024, "dry_run": True},
            )
            for p in year_ends
        ],
        ("GET", "/console/yearend/export.{fmt}"): [
            Call(
                "/console/yearend/export.csv", p, "/v1/year-end/payments/export.csv", compare="body"
            )
            for p in year_ends
        ],
        # 核验台账: the verify API's rule (auditors and admins).
        ("GET", "/console/verify"): [Call("/console/verify", {}, "/v1/violations/verify")],
        ("POST", "/console/verify"): [
            Call("/console/verify", {}, "/v1/violations/verify", api_json={"heads": []})
        ],
        ("GET", "/console/verify/heads.json"): [
            Call("/console/verify/heads.json", {}, "/v1/violations/chain-heads")
        ],
    }


def _proposal(region: str) -> str:
    return (
        f'region: "{region}"\nname: 测算\nversion: "whatif"\neffective_from: 2025-01-01\n'
        "categories: {registered_poor: 建档立卡贫困人口}\nlayers:\n"
        "  - {code: basic_insurance, kind: ratio, fund_type: basic_insurance, name: 基本医保,"
        ' ratio: "0.80"}\n'
    )


ROLES: dict[str, tuple[str, dict[str, str]] | None] = {
    "no login": None,
    "hospital": ("hospital", {"hospital_code": f.COUNTY_HOSPITAL}),
    "hospital that does not exist": ("hospital", {"hospital_code": "H000000000"}),
    "auditor": ("auditor", {"region_prefix": "99"}),
    "auditor of another county": ("auditor", {"region_prefix": f.NEIGHBOUR_COUNTY}),
    "auditor of another province": ("auditor", {"region_prefix": "11"}),
    "admin": ("admin", {}),
    "fund": ("fund", {"region_prefix": "99", "fund_code": "F99-BASIC"}),
    "fund of another county": (
        "fund",
        {"region_prefix": f.NEIGHBOUR_COUNTY, "fund_code": "F99-BASIC"},
    ),
}


def console_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith("/console")
        for method in route.methods
    }


@dataclass
class Visitor:
    name: str
    client: httpx.AsyncClient
    headers: dict[str, str]
    csrf: str = ""


@pytest.fixture
async def ids(app: FastAPI) -> dict[str, int]:
    own, neighbour = await f.book(
        app.state.sessionmaker,
        f.finding(visit_id="V1"),
        f.finding(
            visit_id="N1", county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )
    # booked year-end rows of 2024, one in each county (the 年度补足 page lists them)
    await f.book_year_end(
        app.state.sessionmaker, f.COUNTY, f.NEIGHBOUR_COUNTY, f.COUNTY, plan_year=2024
    )
    return {"own": own, "neighbour": neighbour}


@pytest.fixture
async def visitors(app: FastAPI, make_key: KeyFactory) -> AsyncIterator[list[Visitor]]:
    found = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    for name, role in ROLES.items():
        client = httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN})
        headers: dict[str, str] = {}
        visitor = Visitor(name, client, headers)
        if role is not None:
            headers |= await make_key(role[0], **role[1])
            signed_in = await client.post("/console/login", data={"api_key": headers["X-API-Key"]})
            assert signed_in.status_code == 303, (name, signed_in.text)
            landing = await client.get(signed_in.headers["location"])
            assert landing.status_code == 200, name
            visitor.csrf = _csrf(landing.text)
        found.append(visitor)
    try:
        yield found
    finally:
        for visitor in found:
            await visitor.client.aclose()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def api_outcome(response: httpx.Response) -> str:
    status = response.status_code
    if status == 401:
        return "login"
    if status in (403, 404):
        return {403: "forbidden", 404: "hidden"}[status]
    assert status < 500, response.text
    return "reached"


def console_outcome(response: httpx.Response) -> str:
    status = response.status_code
    # to the sign-in page, naming the page to come back to (service/console/return_to.py)
    if status == 303 and response.headers["location"].partition("?")[0] == "/console/login":
        return "login"
    if status in (403, 404):
        return {403: "forbidden", 404: "hidden"}[status]
    assert status < 500, response.text
    return "reached"


def _visible_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/console/violations/(\d+)"', html)}


def _shown(call: Call, html: str, api: httpx.Response) -> tuple[set[int], set[int]]:
    """What a reached list page shows, and what its API twin lists."""
    if call.compare == "payments":
        shown = {int(i) for i in re.findall(r'id="payment-(\d+)"', html)}
        return shown, {p["id"] for p in api.json()["payments"]}
    return _visible_ids(html), {v["id"] for v in api.json()["items"]}


async def _console(visitor: Visitor, method: str, call: Call) -> httpx.Response:
    if method == "POST":
        data = {**call.params, "csrf": visitor.csrf}
        return await visitor.client.post(call.console_path, data=data)
    return await visitor.client.get(call.console_path, params=call.params)


async def _api(visitor: Visitor, method: str, call: Call) -> httpx.Response:
    assert call.api_path is not None
    if method == "POST":
        return await visitor.client.post(call.api_path, json=call.api_json, headers=visitor.headers)
    return await visitor.client.get(call.api_path, params=call.params, headers=visitor.headers)


async def test_every_console_route_is_walked_and_declared(app: FastAPI) -> None:
    from service.console.access import CONSOLE_ACCESS

    routes = console_routes(app)
    walked = set(_calls({"own": 1, "neighbour": 2}))
    assert routes == walked, "a console route is missing from this walk (or gone from the app)"
    assert routes == set(CONSOLE_ACCESS), "service/console/access.py must name every console route"


async def test_every_console_route_answers_as_its_api_twin_for_every_role(
    app: FastAPI, ids: dict[str, int], visitors: list[Visitor]
) -> None:
    mismatches = []
    rows_seen: dict[str, int] = {}  # year-end rows each visitor saw on the console
    for (method, _), calls in sorted(_calls(ids).items()):
        for call in calls:
            for visitor in visitors:
                console = await _console(visitor, method, call)
                got = console_outcome(console)
                if call.api_path is None:  # public pages: anyone reaches them
                    # the home page sends the signed-out to sign in, the rest to their page
                    home = call.console_path in ("/console", "/console/")
                    want = "login" if home and visitor.name == "no login" else "reached"
                    if got != want:
                        mismatches.append((visitor.name, method, call.console_path, got, want))
                    continue
                api = await _api(visitor, method, call)
                want = api_outcome(api)
                if got != want:
                    mismatches.append(
                        (visitor.name, method, call.console_path, call.params, got, want)
                    )
                elif got == "reached" and call.compare in ("ids", "payments"):
                    shown, listed = _shown(call, console.text, api)
                    if call.compare == "payments":
                        rows_seen[visitor.name] = rows_seen.get(visitor.name, 0) + len(shown)
                    if shown != listed:
                        mismatches.append(
                            (visitor.name, call.console_path, call.params, shown, listed)
                        )
                elif got == "reached" and call.compare == "body" and console.text != api.text:
                    mismatches.append((visitor.name, call.console_path, call.params, "body"))
    assert mismatches == []
    # the three rows in their counties and in the province; the neighbour's auditor its own one
    assert rows_seen == {"auditor": 6, "admin": 6, "auditor of another county": 1}


async def test_roles_in_the_access_table_are_the_apis(app: FastAPI) -> None:
    from service.console.access import CONSOLE_ACCESS

    indicators = CONSOLE_ACCESS[("GET", "/console/indicators")]
    assert indicators.roles == frozenset({Role.AUDITOR, Role.ADMIN})
    ledger = CONSOLE_ACCESS[("GET", "/console/violations")]
    assert ledger.roles == frozenset({Role.AUDITOR, Role.HOSPITAL, Role.ADMIN})
    assert CONSOLE_ACCESS[("POST", "/console/login")].roles is None
    for method, path in (
        ("GET", "/console/verify"),
        ("POST", "/console/verify"),
        ("GET", "/console/verify/heads.json"),
        ("GET", "/console/yearend"),
        ("POST", "/console/yearend"),
        ("GET", "/console/yearend/export.{fmt}"),
    ):
        assert CONSOLE_ACCESS[(method, path)].roles == frozenset({Role.AUDITOR, Role.ADMIN})


async def test_a_hospital_sees_no_indicators_link_and_the_login_page_says_who_may_sign_in(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    login = await client.get("/console/login")
    assert "督查人员" in login.text
    assert "医院" in login.text
    await client.post(
        "/console/login",
        data={"api_key": hospital_headers["X-API-Key"]},
        headers={"Origin": ORIGIN},
    )
    page = await client.get("/console/violations")
    assert page.status_code == 200
    assert 'href="/console/indicators"' not in page.text
    assert (await client.get("/console/indicators", params={"region": "11"})).status_code == 403


async def test_a_fund_key_opens_only_its_own_funds_clearing_page(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    from tests.factories import Ledger, at

    ledger = Ledger(app)
    await ledger.settle(at(2026, 3, 2), basic=120_00, critical=30_00, visit_id="VF")
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    signed_in = await client.post(
        "/console/login", data={"api_key": fund["X-API-Key"]}, headers={"Origin": ORIGIN}
    )
    assert signed_in.headers["location"] == "/console/clearing"
    own = {"fund_code": "F99-BASIC", "hospital_code": f.COUNTY_HOSPITAL, "period": "2026-03"}
    page = await client.get("/console/clearing", params=own)
    assert page.status_code == 200
    nav = re.findall(r"<nav>(.*?)</nav>", page.text, re.S)[0]
    assert re.findall(r'href="(/console/[a-z]+)"', nav) == ["/console/clearing"]
    assert 'id="fund-own">120.00<' in page.text  # its own layer, not the critical-illness one
    assert "F99-CRITICAL" not in page.text  # other funds are not even offered
    other = await client.get("/console/clearing", params={**own, "fund_code": "F99-CRITICAL"})
    assert other.status_code == 404
    for elsewhere in ("/console/violations", "/console/scoreboard", "/console/receivables"):
        assert (await client.get(elsewhere)).status_code == 403, elsewhere


async def test_the_home_page_leads_each_role_to_a_page_it_may_open(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    """/console led everyone to the ledger, which a fund key may not open (a 403 page)."""
    landed = {}
    for visitor in visitors:
        home = await visitor.client.get("/console")
        assert home.status_code == 303, visitor.name
        landed[visitor.name] = home.headers["location"]
        if visitor.name != "no login":
            assert (await visitor.client.get(landed[visitor.name])).status_code == 200
    assert landed["no login"] == "/console/login"
    assert landed["fund"] == landed["fund of another county"] == "/console/clearing"
    assert landed["auditor"] == landed["hospital"] == "/console/violations"


def _calls_of(dependant: Any) -> set[Any]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls_of(sub)
    return found


async def test_every_signed_in_form_checks_its_csrf_token_and_names_its_page(app: FastAPI) -> None:
    """A console POST takes its user as FormUserDep (the CSRF check's one home), and its entry
    names the GET page its refusals come back on."""
    from service.console.access import CONSOLE_ACCESS
    from service.routers.console import _form_user

    routes = {
        route.path: route
        for route in app.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    }
    posts = [path for method, path in console_routes(app) if method == "POST"]
    assert len(posts) == 9
    for path in posts:
        checked = _form_user in _calls_of(routes[path].dependant)
        assert checked == (path != "/console/login"), path  # signing in has no session yet
        form = CONSOLE_ACCESS[("POST", path)].form
        assert form is None if path == "/console/logout" else ("GET", form) in CONSOLE_ACCESS
