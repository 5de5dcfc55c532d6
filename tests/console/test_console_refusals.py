"""A refused console request answers a page, never problem+json (service/console/answers.py).

Every console form, with every role that may use it: a bad value comes back as the form's page
(same status as the API's), with what was typed kept and the message, in Chinese, beside the
field at fault; the guard's refusals and a refused GET are a page with the message and a link
back. The API's answers do not change.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests import factories as f
from tests.factories import KeyFactory

ROLES = {
    "hospital": ("hospital", {"hospital_code": f.COUNTY_HOSPITAL}),
    "auditor": ("auditor", {"region_prefix": "99"}),
    "admin": ("admin", {}),
    "fund": ("fund", {"region_prefix": "99", "fund_code": "F99-BASIC"}),
}
PLAIN = "应为整数，只写数字 0-9（不带符号、小数点、前导零、空格或下划线）"


@pytest.fixture
async def ids(app: FastAPI) -> list[int]:
    return await f.book(app.state.sessionmaker, f.finding(visit_id="V1"))


@pytest.fixture
async def browsers(
    app: FastAPI, make_key: KeyFactory
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    signed_in = {}
    for name, (role, scope) in ROLES.items():
        browser = f.console_browser(app)
        await f.console_sign_in(browser, (await make_key(role, **scope))["X-API-Key"])
        signed_in[name] = browser
    try:
        yield signed_in
    finally:
        for browser in signed_in.values():
            await browser.aclose()


def _is_page(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text[:400]
    assert response.headers["content-type"].startswith("text/html"), response.text[:200]
    assert "default-src 'self'" in response.headers["content-security-policy"]
    return response.text


def _beside(html: str, name: str) -> str:
    """The message shown beside the input `name`."""
    found = re.search(rf'<span class="field-error" id="error-{name}">([^<]*)</span>', html)
    assert found is not None, f"no message beside {name}"
    return found.group(1)


async def _post(
    browser: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    form = await browser.get(page)
    assert form.status_code == 200, form.text[:300]
    hidden = {"csrf": f.csrf_in(form.text)}
    if action == "/console/keys":  # the key form's one-time token (service/console/issued.py)
        hidden["once"] = f.once_in(form.text)
    return await browser.post(action, data={**data, **hidden})


# the roles that may take a step from open (an auditor's page has no form until rectified)
@pytest.mark.parametrize("role", ["hospital", "admin"])
async def test_a_transition_with_a_too_long_note_comes_back_with_the_note_kept(
    browsers: dict[str, httpx.AsyncClient], ids: list[int], role: str
) -> None:
    page = f"/console/violations/{ids[0]}"
    note = "退还押金" + "。" * 2000  # over the 2000 characters a note may hold
    refused = await _post(
        browsers[role], page, f"{page}/transitions", {"to_status": "rectifying", "note": note}
    )
    html = _is_page(refused, 422)
    assert _beside(html, "note") == "内容过长"
    assert f">{note}</textarea>" in html
    assert 'id="transition"' in html  # the form itself, to correct and send again
    assert "请求参数有误" in re.findall(r'id="error">([^<]*)<', html)[0]


# the roles that may take a step from open (an auditor's page has no form until rectified)
@pytest.mark.parametrize("role", ["hospital", "admin"])
async def test_a_transition_without_a_step_or_with_a_wrong_one_says_so_on_the_page(
    browsers: dict[str, httpx.AsyncClient], ids: list[int], role: str
) -> None:
    page = f"/console/violations/{ids[0]}"
    missing = await _post(browsers[role], page, f"{page}/transitions", {"note": "已整改"})
    assert _beside(_is_page(missing, 422), "to_status") == "必填"
    assert ">已整改</textarea>" in missing.text
    wrong = await _post(
        browsers[role], page, f"{page}/transitions", {"to_status": "verified", "note": "销号"}
    )
    html = _is_page(wrong, 409)
    assert "状态变更不允许" in html  # invalid_transition, in words
    assert ">销号</textarea>" in html


async def test_a_transition_on_a_violation_out_of_sight_is_a_404_page_with_a_way_back(
    browsers: dict[str, httpx.AsyncClient], ids: list[int]
) -> None:
    page = f"/console/violations/{ids[0]}"
    refused = await _post(
        browsers["hospital"],
        page,
        "/console/violations/987654/transitions",
        {"to_status": "rectifying"},
    )
    html = _is_page(refused, 404)
    assert "未找到问题记录" in html
    assert 'href="/console" id="back"' in html


async def test_a_key_form_with_an_unknown_role_or_a_long_label_keeps_what_was_typed(
    browsers: dict[str, httpx.AsyncClient],
) -> None:
    admin = browsers["admin"]
    typed = {"role": "mayor", "label": "县医保局 张三", "region_prefix": "9901"}
    refused = await _post(admin, "/console/keys", "/console/keys", typed)
    html = _is_page(refused, 422)
    assert _beside(html, "role") == "不是允许的取值"
    assert 'value="县医保局 张三"' in html
    assert 'value="9901"' in html
    long = await _post(
        admin, "/console/keys", "/console/keys", {"role": "auditor", "label": "名" * 129}
    )
    assert _beside(_is_page(long, 422), "label") == "内容过长"
    assert '<option value="auditor" selected>' in long.text


async def test_revoking_a_missing_key_is_a_404_page(browsers: dict[str, httpx.AsyncClient]) -> None:
    refused = await _post(browsers["admin"], "/console/keys", "/console/keys/987654/revoke", {})
    assert "未找到密钥" in _is_page(refused, 404)


async def test_a_bad_hospital_code_is_named_beside_its_input(
    browsers: dict[str, httpx.AsyncClient],
) -> None:
    typed = {"code": "H 1", "name": "演示县第三医院", "county_code": f.COUNTY}
    refused = await _post(browsers["admin"], "/console/hospitals", "/console/hospitals", typed)
    html = _is_page(refused, 422)
    assert _beside(html, "code") == "格式不正确"
    assert 'value="H 1"' in html
    assert 'value="演示县第三医院"' in html


@pytest.mark.parametrize("role", ["auditor", "admin"])
@pytest.mark.parametrize(
    ("over", "words"),
    [
        ("二〇二四", PLAIN),
        ("1999", "数值过小"),
        ("", "必填"),
        # read as 2024 by a lax int, as a query's year is not (PlainDigits)
        ("2_024", PLAIN),
        ("+2024", PLAIN),
        ("2024.0", PLAIN),
    ],
)
async def test_a_what_if_with_a_bad_year_keeps_the_proposal(
    browsers: dict[str, httpx.AsyncClient], role: str, over: str, words: str
) -> None:
    proposal = "region: '990102'\nname: 测算 & <调整>\n"
    refused = await _post(
        browsers[role],
        "/console/whatif",
        "/console/whatif",
        {"over": over, "source_text": proposal},
    )
    html = _is_page(refused, 422)
    assert _beside(html, "over") == words
    assert "name: 测算 &amp; &lt;调整&gt;\n</textarea>" in html  # kept, and escaped


@pytest.mark.parametrize("role", ["auditor", "admin"])
async def test_a_year_end_run_with_a_year_that_is_no_number_is_named_beside_it(
    browsers: dict[str, httpx.AsyncClient], role: str
) -> None:
    typed = {"region_code": f.COUNTY, "plan_year": "2026-02-30", "action": "dry_run"}
    refused = await _post(browsers[role], "/console/yearend", "/console/yearend", typed)
    html = _is_page(refused, 422)
    assert _beside(html, "plan_year").startswith("应为整数")  # int_not_plain: digits alone
    assert 'name="plan_year" value="2026-02-30"' in html
    assert f'name="region_code" value="{f.COUNTY}"' in html


@pytest.mark.parametrize("role", ["hospital", "auditor", "admin", "fund"])
async def test_a_stale_form_token_is_a_page_that_shows_nothing_back(
    browsers: dict[str, httpx.AsyncClient], ids: list[int], role: str
) -> None:
    action = {
        "fund": "/console/logout",
        "hospital": f"/console/violations/{ids[0]}/transitions",
    }.get(role, "/console/whatif")
    refused = await browsers[role].post(
        action, data={"csrf": "0" * 32, "note": "不应显示", "source_text": "不应显示", "over": "1"}
    )
    html = _is_page(refused, 403)
    assert "表单已失效" in html
    assert "不应显示" not in html
    assert 'id="back"' in html


async def test_a_page_the_role_may_not_open_is_a_403_page_with_the_menu(
    browsers: dict[str, httpx.AsyncClient],
) -> None:
    html = _is_page(await browsers["hospital"].get("/console/indicators"), 403)
    assert "无权查看此页" in html
    assert 'href="/console/violations"' in html  # the menu, to go on from
    posted = await _post(browsers["hospital"], "/console/violations", "/console/whatif", {})
    assert "无权查看此页" in _is_page(posted, 403)


@pytest.mark.parametrize(
    ("url", "field", "page", "words"),
    [
        ("/console/violations?detected_from=2026-02-30", "detected_from", "filters", "应为日期"),
        ("/console/violations/export.csv?region=abc", "region", "filters", "格式不正确"),
        ("/console/scoreboard?to=2026-02-30", "to", "period", "应为日期"),
        ("/console/indicators?from=2026-13-01", "from", "period", "应为日期"),
        ("/console/trends?until=2026-02-30", "until", "trend-filters", "应为日期"),
        ("/console/clearing?period=2026-13", "period", "", "格式不正确"),
    ],
)
async def test_a_refused_filter_is_its_page_again_with_what_was_typed(
    browsers: dict[str, httpx.AsyncClient], url: str, field: str, page: str, words: str
) -> None:
    html = _is_page(await browsers["auditor"].get(url), 422)
    assert _beside(html, field).startswith(words)
    assert f'value="{url.split("=")[1]}"' in html  # as typed, to correct
    assert field in re.findall(r'id="error">([^<]*)<', html)[0]
    assert not page or f'id="{page}"' in html


async def test_a_refused_page_without_a_form_links_back_to_the_console(
    browsers: dict[str, httpx.AsyncClient],
) -> None:
    html = _is_page(await browsers["auditor"].get("/console/violations/not-a-number"), 422)
    assert "violation_id" in re.findall(r'id="error">([^<]*)<', html)[0]
    assert 'href="/console" id="back"' in html


async def test_the_api_still_answers_problem_json(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    answer = await client.get(
        "/v1/violations", params={"detected_from": "2026-02-30"}, headers=auditor_headers
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "detected_from"


async def test_a_transition_from_the_console_keeps_the_apis_rules_on_id_numbers(
    app: FastAPI,
    browsers: dict[str, httpx.AsyncClient],
    ids: list[int],
    hospital_headers: dict[str, str],
) -> None:
    """The form went around TransitionCreate: a note kept a resident ID number in full (the
    API masks it) and one was taken as the evidence's reference (the API refuses it)."""
    page, number = f"/console/violations/{ids[0]}", f.resident_id()
    evidence = await _post(
        browsers["hospital"],
        page,
        f"{page}/transitions",
        {"to_status": "rectifying", "evidence_ref": number, "note": "已退款"},
    )
    assert (
        _beside(_is_page(evidence, 422), "evidence_ref")
        == "就诊号、单据号等编号中不得包含身份证号码，请改用医院自己的编号。"
    )
    assert number not in evidence.text
    moved = await _post(
        browsers["hospital"],
        page,
        f"{page}/transitions",
        {"to_status": "rectifying", "note": f"患者 {number} 已退款"},
    )
    assert moved.status_code == 303, moved.text[:300]
    async with f.console_browser(app) as api:
        detail = await api.get(f"/v1/violations/{ids[0]}", headers=hospital_headers)
    [step] = detail.json()["transitions"]
    assert number not in step["note"]
    assert step["note"].startswith("患者 ")


async def test_a_key_from_the_console_keeps_the_apis_rules(
    browsers: dict[str, httpx.AsyncClient],
) -> None:
    """The form went around KeyCreate: an auditor key for the region prefix "ab" (which
    scopes nothing) was issued, and a label could hold an ID number."""
    admin = browsers["admin"]
    prefix = await _post(
        admin, "/console/keys", "/console/keys", {"role": "auditor", "region_prefix": "ab"}
    )
    assert _beside(_is_page(prefix, 422), "region_prefix") == "格式不正确"
    label = await _post(
        admin, "/console/keys", "/console/keys", {"role": "admin", "label": f.resident_id()}
    )
    assert (
        _beside(_is_page(label, 422), "label")
        == "就诊号、单据号等编号中不得包含身份证号码，请改用医院自己的编号。"
    )
    assert 'id="issued"' not in prefix.text + label.text


async def test_a_nul_character_is_named_beside_its_input(
    browsers: dict[str, httpx.AsyncClient], ids: list[int]
) -> None:
    page = f"/console/violations/{ids[0]}"
    refused = await _post(
        browsers["hospital"],
        page,
        f"{page}/transitions",
        {"to_status": "rectifying", "note": "a\x00b"},
    )
    assert _beside(_is_page(refused, 422), "note").startswith("含有控制字符")


async def test_a_value_the_database_refuses_is_a_page_too(
    browsers: dict[str, httpx.AsyncClient], ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's DataError (a value it cannot store) was the app's problem+json."""
    from sqlalchemy.exc import DataError

    from service.routers import console

    async def refused_by_the_database(*args: object, **kwargs: object) -> None:
        raise DataError("UPDATE violation", {}, ValueError("invalid byte sequence"))

    monkeypatch.setattr(console, "move", refused_by_the_database)
    page = f"/console/violations/{ids[0]}"
    refused = await _post(
        browsers["hospital"], page, f"{page}/transitions", {"to_status": "rectifying", "note": "好"}
    )
    assert "数值无法保存" in _is_page(refused, 422)  # invalid_value, in words
    assert ">好</textarea>" in refused.text


async def test_a_refusal_after_a_write_rolls_the_write_back(
    app: FastAPI,
    browsers: dict[str, httpx.AsyncClient],
    ids: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page is rendered after the request's unit of work has closed on the error: what the
    refused action wrote is rolled back (a form route that caught its error and rendered the
    page itself, as the console's did, returned normally, and the unit committed)."""
    from sqlalchemy import text

    from service.errors import Conflict
    from service.regions.models import Region
    from service.routers import console

    async def writes_then_refuses(uow: Any, **kwargs: object) -> None:
        uow.session.add(Region(code="770000", name="写入后被拒", level="province"))
        await uow.session.flush()
        raise Conflict("refused after a write")

    monkeypatch.setattr(console, "move", writes_then_refuses)
    page = f"/console/violations/{ids[0]}"
    refused = await _post(
        browsers["admin"], page, f"{page}/transitions", {"to_status": "rectifying"}
    )
    async with app.state.sessionmaker() as session:
        stored = await session.exec(text("select count(*) from regions where code = '770000'"))
        assert stored.one()[0] == 0
    _is_page(refused, 409)


@pytest.mark.parametrize(
    "url", ["/console/nope", "/console/violations/1/extra", "/console/static/nope.css"]
)
async def test_an_address_the_console_does_not_have_is_a_404_page(
    browsers: dict[str, httpx.AsyncClient], url: str
) -> None:
    """No console route matched, so Starlette's 404 reached the app's handler: problem+json."""
    html = _is_page(await browsers["auditor"].get(url), 404)
    assert "未找到" in re.findall(r'id="error">([^<]*)<', html)[0]
    assert 'href="/console" id="back"' in html


async def test_a_method_a_console_address_does_not_take_is_a_405_page(
    browsers: dict[str, httpx.AsyncClient],
) -> None:
    refused = await browsers["auditor"].get("/console/logout")
    assert "请求方法不允许" in _is_page(refused, 405)
    assert refused.headers["allow"] == "POST"


async def test_a_form_over_the_body_limit_is_a_413_page_with_a_way_back_to_it(
    app: FastAPI, browsers: dict[str, httpx.AsyncClient]
) -> None:
    """BodySizeLimitMiddleware answered every path with problem+json."""
    form = await browsers["auditor"].get("/console/whatif")
    limit = app.state.settings.max_body_bytes
    data = {"csrf": f.csrf_in(form.text), "over": "2026", "source_text": "名" * limit}
    html = _is_page(await browsers["auditor"].post("/console/whatif", data=data), 413)
    assert "请求体过大" in re.findall(r'id="error">([^<]*)<', html)[0]
    assert 'href="/console/whatif" id="back"' in html
    assert "名名" not in html

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536

    counted = await browsers["auditor"].post(
        "/console/whatif",
        content=streamed(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "请求体过大" in _is_page(counted, 413)


async def test_the_apis_missing_addresses_and_big_bodies_stay_problem_json(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for url in ("/v1/nope", "/nhsa/nope", "/consoles", "/"):
        missing = await client.get(url, headers=admin_headers)
        assert missing.status_code == 404, url
        assert missing.headers["content-type"] == "application/problem+json", url
    big = await client.post(
        "/v1/keys",
        content=b"x" * (app.state.settings.max_body_bytes + 1),
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    assert big.json()["code"] == "payload_too_large"
