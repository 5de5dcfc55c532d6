"""The console over plain HTTP: sign-in cookie, CSRF, scope and pages that render."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests import factories as f
from tests.factories import KeyFactory


@pytest.fixture
async def ids(app: FastAPI) -> list[int]:
    return await f.book(
        app.state.sessionmaker,
        f.finding(visit_id="V1"),
        f.finding(
            visit_id="N1", county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )


async def _login(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/console/login", data={"api_key": headers["X-API-Key"]})


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


async def test_pages_need_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/violations")
    assert response.status_code == 303
    # the page asked for rides along, to come back to (service/console/return_to.py)
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fviolations"
    assert (await client.get("/console/login")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/console/violations"),
        ("GET", "/console/violations/export.csv"),
        ("GET", "/console/verify/heads.json"),
        ("POST", "/console/verify"),
        ("POST", "/console/logout"),
    ],
)
async def test_signed_out_is_a_plain_redirect_not_a_problem_document(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    # It was application/problem+json titled "HTTP error" with status 303.
    response = await client.request(method, path)
    assert response.status_code == 303
    assert response.headers["location"].partition("?")[0] == "/console/login"
    assert "problem+json" not in response.headers.get("content-type", "")
    assert response.content == b""


async def test_a_wrong_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/console/login", data={"api_key": "sck_dead_beef"})
    assert response.status_code == 401
    assert "密钥无效" in response.text
    assert "set-cookie" not in response.headers


async def test_the_cookie_is_httponly_strict_and_holds_no_key(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    response = await _login(client, auditor_headers)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    secret = auditor_headers["X-API-Key"].split("_")[2]
    assert secret not in cookie
    page = await client.get("/console/violations")
    assert page.status_code == 200
    assert "问题台账" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_a_forged_cookie_is_refused(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    await _login(client, auditor_headers)
    value = client.cookies["settlecheck_console"]
    client.cookies.clear()
    client.cookies.set("settlecheck_console", value[:-2] + "00", path="/console")
    assert (await client.get("/console/violations")).status_code == 303


async def test_a_revoked_key_ends_the_session(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    admin_headers: dict[str, str],
) -> None:
    auditor = await make_key("auditor", region_prefix="99")
    await _login(client, auditor)
    keys = (await client.get("/v1/keys", headers=admin_headers)).json()
    key_id = next(k["id"] for k in keys if k["role"] == "auditor")
    await client.post(f"/v1/keys/{key_id}/revoke", headers=admin_headers)
    assert (await client.get("/console/violations")).status_code == 303


async def test_a_form_without_the_csrf_token_is_403(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], ids: list[int]
) -> None:
    await _login(client, hospital_headers)
    url = f"/console/violations/{ids[0]}/transitions"
    response = await client.post(url, data={"to_status": "rectifying", "csrf": "0" * 32})
    assert response.status_code == 403
    detail = await client.get(f"/v1/violations/{ids[0]}", headers=hospital_headers)
    assert detail.json()["status"] == "open"


async def test_a_form_with_the_token_moves_the_violation(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], ids: list[int]
) -> None:
    await _login(client, hospital_headers)
    page = await client.get(f"/console/violations/{ids[0]}")
    assert "开始整改" in page.text
    response = await client.post(
        f"/console/violations/{ids[0]}/transitions",
        data={"to_status": "rectifying", "csrf": _csrf(page.text), "note": "已退还押金"},
    )
    assert response.status_code == 303
    detail = await client.get(f"/v1/violations/{ids[0]}", headers=hospital_headers)
    assert detail.json()["status"] == "rectifying"
    refused = await client.post(
        f"/console/violations/{ids[0]}/transitions",
        data={"to_status": "verified", "csrf": _csrf(page.text), "note": "复核通过"},
    )
    assert refused.status_code == 409  # the page again, in words, with the note as typed
    assert "状态变更不允许" in refused.text
    assert ">复核通过</textarea>" in refused.text


async def test_only_the_consoles_own_redirect_puts_a_notice_on_a_page(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    ids: list[int],
) -> None:
    # A link to a real console page with words of a stranger's in ?msg= or ?error= showed them
    # as the console's own notice (content spoofing); a notice is now sealed by the redirect.
    bait = "系统升级：请将您的密钥发送至 help@example.com"
    await _login(client, hospital_headers)
    for path in (f"/console/violations/{ids[0]}", "/console/violations"):
        for name in ("msg", "error"):
            page = await client.get(path, params={name: bait})
            assert page.status_code == 200
            assert bait not in page.text
    page = await client.get(f"/console/violations/{ids[0]}")
    moved = await client.post(
        f"/console/violations/{ids[0]}/transitions",
        data={"to_status": "rectifying", "csrf": _csrf(page.text)},
    )
    assert moved.status_code == 303
    shown = await client.get(moved.headers["location"])
    assert '<p class="flash ok" id="flash">已办理</p>' in shown.text
    # The sealed address is this session's: another session does not show its words either.
    await _login(client, admin_headers)
    again = await client.get(moved.headers["location"])
    assert "已办理" not in again.text
    for path in ("/console/keys", "/console/hospitals"):
        page = await client.get(path, params={"error": bait})
        assert page.status_code == 200
        assert bait not in page.text


async def test_the_console_stays_in_scope(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], ids: list[int]
) -> None:
    await _login(client, hospital_headers)
    page = await client.get("/console/violations")
    assert f'href="/console/violations/{ids[1]}"' not in page.text
    assert f'href="/console/violations/{ids[0]}"' in page.text
    assert (await client.get(f"/console/violations/{ids[1]}")).status_code == 404


async def test_scoreboard_and_indicators_render_charts(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ids: list[int]
) -> None:
    await _login(client, auditor_headers)
    board = await client.get("/console/scoreboard")
    assert board.status_code == 200
    assert "<svg" in board.text
    assert "邻县" in board.text
    indicators = await client.get("/console/indicators", params={"from": "2026-03-01"})
    assert indicators.status_code == 200
    assert "县域内就诊率" in indicators.text
    # It counts every covered category's pay-after-treatment inpatients, not only 建档立卡.
    assert "先诊疗后付费适用住院人次（各类帮扶对象）" in indicators.text
    assert "建档立卡住院人次" not in indicators.text
    assert "<svg" in indicators.text
    bad = await client.get("/console/violations", params={"status": "nonsense"})
    assert bad.status_code == 422
