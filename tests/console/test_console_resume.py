"""A form posted after the console session expired is not lost (ADR 0016, *A form that outlived
its session*): the sign-in page carries what was typed in hidden fields, and signing in again
with the same key shows the form filled in, to be submitted again. Nothing is stored on the
server; another key signing in on that page sees nothing of it, and nothing is applied without
a fresh submit."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from fastapi import FastAPI

from service.console import session as console
from tests import factories as f

NOTE = '已按要求退还押金。<script>alert("x")</script> 详见附件' + "。" * 1500


@pytest.fixture
async def violation_id(app: FastAPI) -> int:
    (found,) = await f.book(app.state.sessionmaker, f.finding(visit_id="V1"))
    return found


def _hidden(html: str) -> dict[str, str]:
    """The hidden fields of the sign-in form, as a browser would post them."""
    form = html[html.index('id="login"') :]
    form = form[: form.index("</form>")]
    return {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }


async def _expired_post(
    app: FastAPI, browser: httpx.AsyncClient, key: str, violation_id: int, note: str = NOTE
) -> httpx.Response:
    await f.console_sign_in(browser, key)
    page = await browser.get(f"/console/violations/{violation_id}")
    assert page.status_code == 200
    csrf = f.csrf_in(page.text)
    await f.expire_console_sessions(app.state.sessionmaker)
    return await browser.post(
        f"/console/violations/{violation_id}/transitions",
        data={"csrf": csrf, "to_status": "rectifying", "note": note, "evidence_ref": "EV-7"},
    )


async def _status(app: FastAPI, violation_id: int) -> str:
    from service.violations.models import Violation

    async with app.state.sessionmaker() as session:
        row = await session.get(Violation, violation_id)
        assert row is not None
        return row.status


async def test_a_form_posted_after_the_session_expired_comes_back_on_the_sign_in_page(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    async with f.console_browser(app) as browser:
        answer = await _expired_post(app, browser, hospital_headers["X-API-Key"], violation_id)
    assert answer.status_code == 401
    assert 'id="login"' in answer.text
    assert "登录已超时" in answer.text
    kept = _hidden(answer.text)
    assert kept["carry.note"] == NOTE
    assert kept["carry.to_status"] == "rectifying"
    assert kept["carry.evidence_ref"] == "EV-7"
    assert kept["resume"] == f"/console/violations/{violation_id}/transitions"
    # Inert: the note is an attribute's text, never markup; no CSRF token, no key travels.
    assert "<script>" not in answer.text
    assert "&lt;script&gt;" in answer.text
    assert not any("csrf" in name for name in kept)
    assert hospital_headers["X-API-Key"] not in answer.text
    assert await _status(app, violation_id) == "open"


async def test_signing_in_again_shows_the_form_filled_in_and_applies_nothing(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    key = hospital_headers["X-API-Key"]
    async with f.console_browser(app) as browser:
        answer = await _expired_post(app, browser, key, violation_id)
        again = await browser.post("/console/login", data={"api_key": key, **_hidden(answer.text)})
        assert again.status_code == 200, again.text
        assert console.COOKIE in again.headers["set-cookie"]
        assert 'id="transition"' in again.text
        textarea = re.search(
            r'<textarea name="note" id="note"[^>]*>(.*?)</textarea>', again.text, re.S
        )
        assert textarea is not None
        assert unescape(textarea.group(1)) == NOTE
        assert "<script>" not in again.text
        assert re.search(r'<option value="rectifying" selected>', again.text)
        assert 'value="EV-7"' in again.text
        assert "请核对后提交" in again.text
        # Shown, not applied: the status changes only when the person submits again.
        assert await _status(app, violation_id) == "open"
        done = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={
                "csrf": f.csrf_in(again.text),
                "to_status": "rectifying",
                "note": NOTE,
                "evidence_ref": "EV-7",
            },
        )
        assert done.status_code == 303, done.text
    assert await _status(app, violation_id) == "rectifying"


async def test_another_key_signing_in_on_that_page_sees_nothing_of_it(
    app: FastAPI,
    hospital_headers: dict[str, str],
    make_key: f.KeyFactory,
    auditor_headers: dict[str, str],
    violation_id: int,
) -> None:
    # A colleague's key of the same hospital, and the county's auditor: both may open the page.
    colleague = await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL)
    async with f.console_browser(app) as browser:
        answer = await _expired_post(app, browser, hospital_headers["X-API-Key"], violation_id)
    carried = _hidden(answer.text)
    for other in (colleague["X-API-Key"], auditor_headers["X-API-Key"]):
        async with f.console_browser(app) as browser:
            signed = await browser.post("/console/login", data={"api_key": other, **carried})
            assert signed.status_code == 303
            assert "/violations/" not in signed.headers["location"]
            landing = await browser.get(signed.headers["location"])
            assert landing.status_code == 200
            assert "已按要求退还押金" not in landing.text
            # Later, the same page shows nothing typed: nothing was kept on the server.
            shown = await browser.get(f"/console/violations/{violation_id}")
            assert "已按要求退还押金" not in shown.text


async def test_a_carried_form_changed_on_the_way_is_not_shown(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    key = hospital_headers["X-API-Key"]
    async with f.console_browser(app) as browser:
        answer = await _expired_post(app, browser, key, violation_id)
        carried = {**_hidden(answer.text), "carry.note": "别人改过的说明"}
        signed = await browser.post("/console/login", data={"api_key": key, **carried})
    assert signed.status_code == 303
    assert "别人改过的说明" not in signed.text


async def test_a_wrong_key_on_the_carrying_page_keeps_the_form(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    async with f.console_browser(app) as browser:
        answer = await _expired_post(app, browser, hospital_headers["X-API-Key"], violation_id)
        carried = _hidden(answer.text)
        wrong = await browser.post("/console/login", data={"api_key": "sck_dead_beef", **carried})
        assert wrong.status_code == 401
        assert _hidden(wrong.text) == carried
        # and a sign-in refused by its field (no key) keeps it too
        empty = await browser.post("/console/login", data=carried)
        assert empty.status_code == 422
        assert _hidden(empty.text) == carried


async def test_an_expired_form_from_another_site_is_refused_and_not_carried(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, hospital_headers["X-API-Key"])
        csrf = f.csrf_in((await browser.get(f"/console/violations/{violation_id}")).text)
        await f.expire_console_sessions(app.state.sessionmaker)
        data = {"csrf": csrf, "to_status": "rectifying", "note": "跨站提交的说明"}
        for origin in ("https://evil.example", None):
            headers = {"Origin": origin} if origin else {"Origin": ""}
            answer = await browser.post(
                f"/console/violations/{violation_id}/transitions", data=data, headers=headers
            )
            assert answer.status_code == 403
            assert "跨站提交的说明" not in answer.text


async def test_an_expired_form_without_its_sessions_token_is_not_carried(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, hospital_headers["X-API-Key"])
        await f.expire_console_sessions(app.state.sessionmaker)
        for csrf in ("", "0" * 32):
            answer = await browser.post(
                f"/console/violations/{violation_id}/transitions",
                data={"csrf": csrf, "to_status": "rectifying", "note": "无令牌的说明"},
            )
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/login"
            assert "无令牌的说明" not in answer.text


async def test_a_forged_cookie_carries_nothing(app: FastAPI, violation_id: int) -> None:
    async with f.console_browser(app) as browser:
        browser.cookies.set(console.COOKIE, "forged-token", path="/console")
        answer = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={"csrf": "0" * 32, "to_status": "rectifying", "note": "伪造"},
        )
    assert answer.status_code == 303
    assert "伪造" not in answer.text


async def test_someone_elses_sign_in_does_not_forget_an_expired_session(
    app: FastAPI,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    violation_id: int,
) -> None:
    """Expired rows are deleted at sign-in only once the cookie that names them is gone too."""
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, hospital_headers["X-API-Key"])
        csrf = f.csrf_in((await browser.get(f"/console/violations/{violation_id}")).text)
        await f.expire_console_sessions(app.state.sessionmaker, ago_seconds=3600)
        async with f.console_browser(app) as someone:
            await f.console_sign_in(someone, auditor_headers["X-API-Key"])
        answer = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={"csrf": csrf, "to_status": "rectifying", "note": "下班前写好的说明"},
        )
    assert answer.status_code == 401
    assert _hidden(answer.text)["carry.note"] == "下班前写好的说明"


async def test_the_cookie_outlives_the_session_so_an_expired_form_can_be_carried(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.post("/console/login", data={"api_key": hospital_headers["X-API-Key"]})
    max_age = re.search(r"Max-Age=(\d+)", response.headers["set-cookie"])
    assert max_age is not None
    assert int(max_age.group(1)) > console.LIFETIME_SECONDS


async def test_a_form_from_before_signing_in_again_in_another_tab_comes_back_filled_in(
    app: FastAPI, hospital_headers: dict[str, str], violation_id: int
) -> None:
    """The session ran out; the person signed in again in another tab (which ended the old
    session and replaced the cookie), then submitted the note in the first tab: its CSRF token
    is the old session's. The form comes back filled in for the same key, to submit again."""
    key = hospital_headers["X-API-Key"]
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, key)
        old = f.csrf_in((await browser.get(f"/console/violations/{violation_id}")).text)
        await f.expire_console_sessions(app.state.sessionmaker)
        await f.console_sign_in(browser, key)  # the other tab
        answer = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={"csrf": old, "to_status": "rectifying", "note": NOTE},
        )
        assert answer.status_code == 403
        textarea = re.search(
            r'<textarea name="note" id="note"[^>]*>(.*?)</textarea>', answer.text, re.S
        )
        assert textarea is not None
        assert unescape(textarea.group(1)) == NOTE
        assert "<script>" not in answer.text
        fresh = f.csrf_in(answer.text)
        assert fresh != old
        assert await _status(app, violation_id) == "open"
        done = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={"csrf": fresh, "to_status": "rectifying", "note": NOTE},
        )
        assert done.status_code == 303
    assert await _status(app, violation_id) == "rectifying"


async def test_a_form_of_another_key_in_the_same_browser_is_not_filled_in(
    app: FastAPI,
    hospital_headers: dict[str, str],
    make_key: f.KeyFactory,
    violation_id: int,
) -> None:
    colleague = await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL)
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, hospital_headers["X-API-Key"])
        old = f.csrf_in((await browser.get(f"/console/violations/{violation_id}")).text)
        await f.console_sign_in(browser, colleague["X-API-Key"])  # someone else, same browser
        answer = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={"csrf": old, "to_status": "rectifying", "note": "同事写的说明"},
        )
    assert answer.status_code == 403
    assert "表单已失效" in answer.text
    assert "同事写的说明" not in answer.text
    assert 'id="transition"' not in answer.text
