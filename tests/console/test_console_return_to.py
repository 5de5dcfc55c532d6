"""A filtered page whose session expired is the same filtered page after signing in again
(service/console/return_to.py, ADR 0016): the sign-in page carries the page's address in a
`next` field, and only a console page's own path and its declared filters come back out of it."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests import factories as f

FILTERED = "/console/violations?status=open&hospital_code=H990102002&rule_code=R001"


def _next_field(html: str) -> str | None:
    found = re.search(r'<input type="hidden" name="next" value="([^"]*)"', html)
    return None if found is None else unescape(found.group(1))


def assert_lands_on(answer: httpx.Response, path: str, query: dict[str, str]) -> None:
    assert answer.status_code == 303, answer.text
    where = urlsplit(answer.headers["location"])
    assert (where.scheme, where.netloc, where.path) == ("", "", path)
    assert dict(parse_qsl(where.query)) == query


async def _sign_in_from(browser: httpx.AsyncClient, address: str, key: str) -> httpx.Response:
    """Open `address` signed out, follow to the sign-in page, sign in on it as a browser posts."""
    sent_away = await browser.get(address)
    assert sent_away.status_code == 303
    login = await browser.get(sent_away.headers["location"])
    assert login.status_code == 200
    carried = _next_field(login.text)
    data = {"api_key": key} | ({"next": carried} if carried is not None else {})
    return await browser.post("/console/login", data=data)


async def test_an_expired_session_on_a_filtered_page_lands_on_it_after_signing_in(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    key = auditor_headers["X-API-Key"]
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, key)
        assert (await browser.get(FILTERED)).status_code == 200
        await f.expire_console_sessions(app.state.sessionmaker)
        answer = await _sign_in_from(browser, FILTERED, key)
        assert_lands_on(
            answer,
            "/console/violations",
            {"status": "open", "hospital_code": "H990102002", "rule_code": "R001"},
        )
        shown = await browser.get(answer.headers["location"])
    assert shown.status_code == 200
    assert re.search(r'<option value="open" selected>', shown.text)


async def test_a_signed_out_visit_to_a_detail_page_comes_back_to_it(
    app: FastAPI, hospital_headers: dict[str, str]
) -> None:
    (violation_id,) = await f.book(app.state.sessionmaker, f.finding(visit_id="V1"))
    async with f.console_browser(app) as browser:
        answer = await _sign_in_from(
            browser, f"/console/violations/{violation_id}", hospital_headers["X-API-Key"]
        )
    assert_lands_on(answer, f"/console/violations/{violation_id}", {})


async def test_only_the_pages_declared_filters_are_carried(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    address = "/console/scoreboard?from=2026-01-01&msg=%E8%AF%B7%E8%BD%AC%E8%B4%A6&evil=1&to="
    async with f.console_browser(app) as browser:
        answer = await _sign_in_from(browser, address, auditor_headers["X-API-Key"])
    assert_lands_on(answer, "/console/scoreboard", {"from": "2026-01-01"})


async def test_a_page_the_key_may_not_open_lands_on_its_own_first_page(
    app: FastAPI, hospital_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        answer = await _sign_in_from(
            browser, "/console/indicators?region=99", hospital_headers["X-API-Key"]
        )
    assert_lands_on(answer, "/console/violations", {})


HOSTILE = [
    "https://evil.example/console/violations",
    "//evil.example/console/violations",
    "/\\evil.example/console/violations",
    "\\\\evil.example",
    "http:/console/violations",
    "/console/../v1/keys",
    "/console/violations/export.csv?status=open",
    "/console/logout",
    "/console/login?next=https://evil.example",
    "/v1/violations?status=open",
    "javascript:alert(1)",
    "/console/violations\r\nLocation: https://evil.example",
    "/console/%2e%2e/v1/keys",
    "",
]


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_a_hostile_next_sends_nobody_elsewhere(
    app: FastAPI, auditor_headers: dict[str, str], hostile: str
) -> None:
    async with f.console_browser(app) as browser:
        login = await browser.get("/console/login", params={"next": hostile})
        assert login.status_code == 200
        assert _next_field(login.text) is None
        answer = await browser.post(
            "/console/login", data={"api_key": auditor_headers["X-API-Key"], "next": hostile}
        )
    assert_lands_on(answer, "/console/violations", {})


async def test_a_wrong_key_keeps_the_page_to_return_to(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        refused = await browser.post(
            "/console/login", data={"api_key": "sck_wrong", "next": FILTERED}
        )
        assert refused.status_code == 401
        assert _next_field(refused.text) == FILTERED
        answer = await browser.post(
            "/console/login",
            data={"api_key": auditor_headers["X-API-Key"], "next": _next_field(refused.text)},
        )
    assert answer.headers["location"].startswith("/console/violations?")


def test_every_page_returned_to_is_a_signed_in_console_page(app: FastAPI) -> None:
    from service.console import access, return_to

    served = {r.path for r in app.router.routes if "GET" in getattr(r, "methods", ())}
    for path in return_to.pages():
        assert path in served
        assert access.CONSOLE_ACCESS[("GET", path)].roles is not None
    menu = {f"/console/{name}" for name in access.NAV}
    assert menu <= set(return_to.pages())
