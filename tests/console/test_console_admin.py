"""The admin's console pages: issue a key (its token shown once), revoke one, read the policies."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from tests import factories as f
from tests.conftest import KeyFactory


async def test_an_admin_issues_a_key_that_works_and_revokes_it(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        keys = await browser.get("/console/keys")
        assert keys.status_code == 200
        issued = await browser.post(
            "/console/keys",
            data={
                "csrf": f.csrf_in(keys.text),
                "once": f.once_in(keys.text),
                "role": "auditor",
                "region_prefix": "9901",
                "label": "county office",
            },
        )
        assert issued.status_code == 303
        assert issued.headers["location"] == "/console/keys"
        shown = await browser.get("/console/keys")
        token = re.search(r'id="issued-token">([^<]+)<', shown.text)
        assert token is not None
        headers = {"X-API-Key": token.group(1)}
        assert (await browser.get("/v1/indicators", headers=headers)).status_code == 200

        listed = (await browser.get("/v1/keys", headers=admin_headers)).json()
        new = next(k for k in listed if k["label"] == "county office")
        assert new["region_prefix"] == "9901"
        assert new["revoked_at"] is None
        again = await browser.get("/console/keys")
        assert token.group(1) not in again.text  # shown once, on the page that issued it

        revoked = await browser.post(
            f"/console/keys/{new['id']}/revoke", data={"csrf": f.csrf_in(again.text)}
        )
        assert revoked.status_code == 303
        assert (await browser.get("/v1/indicators", headers=headers)).status_code == 401


async def test_reloading_the_page_that_shows_a_new_key_issues_no_second_key(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        before = len((await browser.get("/v1/keys", headers=admin_headers)).json())
        form = {"role": "auditor", "region_prefix": "9901", "label": "reloaded"}
        page = await browser.get("/console/keys")
        posted = await browser.post(
            "/console/keys",
            data={"csrf": f.csrf_in(page.text), "once": f.once_in(page.text), **form},
        )
        # The form's answer is a redirect: what a reload asks again is the page, not the form.
        assert posted.status_code == 303
        assert posted.headers["location"] == "/console/keys"
        assert "sck_" not in posted.headers["location"]  # the token is not in the address
        cookie = posted.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/console/keys" in cookie
        shown = await browser.get(posted.headers["location"])
        token = re.search(r'id="issued-token">([^<]+)<', shown.text)
        assert token is not None
        assert "密钥已签发" in shown.text
        reloaded = await browser.get("/console/keys")
        assert reloaded.status_code == 200
        assert token.group(1) not in reloaded.text  # shown once
        assert 'id="issued-token"' not in reloaded.text
        keys = (await browser.get("/v1/keys", headers=admin_headers)).json()
        assert len(keys) == before + 1
        assert [k["label"] for k in keys].count("reloaded") == 1
        works = await browser.get("/v1/indicators", headers={"X-API-Key": token.group(1)})
        assert works.status_code == 200


async def test_a_form_posted_twice_issues_one_key(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        before = len((await browser.get("/v1/keys", headers=admin_headers)).json())
        page = await browser.get("/console/keys")
        form = {"csrf": f.csrf_in(page.text), "once": f.once_in(page.text)}
        form |= {"role": "auditor", "region_prefix": "9901", "label": "double click"}
        first = await browser.post("/console/keys", data=form)
        again = await browser.post("/console/keys", data=form)  # the second click
        assert first.status_code == 303
        assert again.status_code == 409
        assert "此表单已签发过一个密钥" in again.text
        # The first answer's token reached the browser: the page of the second shows it, once.
        token = re.search(r'id="issued-token">([^<]+)<', again.text)
        assert token is not None
        assert token.group(1) not in (await browser.get("/console/keys")).text
        keys = (await browser.get("/v1/keys", headers=admin_headers)).json()
        assert len(keys) == before + 1
        assert [k["label"] for k in keys].count("double click") == 1
        # The page shown again carries a new form: it issues a key of its own.
        fresh = f.once_in(again.text)
        assert fresh != form["once"]
        third = await browser.post("/console/keys", data={**form, "once": fresh})
        assert third.status_code == 303
        keys = (await browser.get("/v1/keys", headers=admin_headers)).json()
        assert [k["label"] for k in keys].count("double click") == 2


async def test_a_cookie_that_names_no_valid_key_shows_no_token(
    app: FastAPI, admin_headers: dict[str, str], make_key: KeyFactory
) -> None:
    revoked = (await make_key("auditor", region_prefix="9901"))["X-API-Key"]
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get("/console/keys")
        key_id = max(k["id"] for k in (await browser.get("/v1/keys", headers=admin_headers)).json())
        await browser.post(f"/console/keys/{key_id}/revoke", data={"csrf": f.csrf_in(page.text)})
        for forged in (revoked, revoked[:-3] + "abc", "not-a-key"):
            browser.cookies.set("settlecheck_issued_key", forged, path="/console/keys")
            shown = await browser.get("/console/keys")
            assert shown.status_code == 200
            assert 'id="issued-token"' not in shown.text
            assert forged not in shown.text


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"role": "hospital", "label": "no hospital"}, 422, "医院密钥须指定医院编码"),
        ({"role": "hospital", "hospital_code": "H999999999"}, 404, "未找到医院"),
        # the words name every role's scope, not only a hospital's and an auditor's
        ({"role": "fund", "fund_code": "F99-BASIC"}, 422, "基金密钥须指定基金编码和地区编码前缀"),
        ({"role": "admin", "hospital_code": f.COUNTY_HOSPITAL}, 422, "管理员密钥不指定范围"),
    ],
    ids=["no-hospital", "unregistered-hospital", "fund-no-region", "admin-with-hospital"],
)
async def test_a_key_with_a_wrong_scope_is_refused_in_words_and_nothing_is_issued(
    app: FastAPI, admin_headers: dict[str, str], form: dict[str, str], status: int, words: str
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        before = (await browser.get("/v1/keys", headers=admin_headers)).json()
        page = await browser.get("/console/keys")
        refused = await browser.post(
            "/console/keys",
            data={"csrf": f.csrf_in(page.text), "once": f.once_in(page.text), **form},
        )
        assert refused.status_code == status
        assert 'id="error"' in refused.text
        assert words in refused.text
        assert 'id="issued-token"' not in refused.text
        assert (await browser.get("/v1/keys", headers=admin_headers)).json() == before


async def test_an_admin_cannot_revoke_the_key_it_is_signed_in_with(
    app: FastAPI, make_key: KeyFactory
) -> None:
    headers = await make_key("admin")
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, headers["X-API-Key"])
        page = await browser.get("/console/keys")
        own = max(k["id"] for k in (await browser.get("/v1/keys", headers=headers)).json())
        refused = await browser.post(
            f"/console/keys/{own}/revoke", data={"csrf": f.csrf_in(page.text)}
        )
        assert refused.status_code == 303
        assert "error=" in refused.headers["location"]
        assert (await browser.get("/console/keys")).status_code == 200  # still signed in


async def test_the_policy_pages_list_every_version_and_show_its_text(
    app: FastAPI, admin_headers: dict[str, str], auditor_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        listed = await browser.get("/console/policies")
        versions = (await browser.get("/v1/policies", headers=admin_headers)).json()
        assert versions
        for v in versions:
            assert f"/console/policies/{v['content_hash']}" in listed.text
        one = await browser.get(f"/console/policies/{versions[0]['content_hash']}")
        assert one.status_code == 200
        assert f"区划 {versions[0]['region_code']}" in one.text
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, auditor_headers["X-API-Key"])
        assert (await browser.get("/console/policies")).status_code == 403
        nav = await browser.get("/console/violations")
        assert "/console/keys" not in nav.text
        assert "/console/policies" not in nav.text


async def test_an_admin_issues_a_fund_key_for_a_known_fund_only(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get("/console/keys")
        form = {"csrf": f.csrf_in(page.text), "role": "fund", "region_prefix": "99"}
        form["once"] = f.once_in(page.text)
        unknown = await browser.post("/console/keys", data={**form, "fund_code": "F00-NONE"})
        assert unknown.status_code == 404  # as the API answers an unknown fund
        issued = await browser.post("/console/keys", data={**form, "fund_code": "F99-BASIC"})
        assert issued.status_code == 303
        assert issued.headers["location"] == "/console/keys"
        shown = await browser.get("/console/keys")
        token = re.search(r'id="issued-token">([^<]+)<', shown.text)
        assert token is not None
        listed = (await browser.get("/v1/keys", headers=admin_headers)).json()
        assert [k["fund_code"] for k in listed if k["role"] == "fund"] == ["F99-BASIC"]
        statements = await browser.get("/v1/clearing/funds", headers={"X-API-Key": token.group(1)})
        assert statements.status_code == 200
        assert {fund["code"] for fund in statements.json()} == {"F99-BASIC"}


async def test_an_admin_registers_and_changes_a_hospital_on_the_directory_page(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    form = {
        "code": "H990102077",
        "name": "演示县第二医院",
        "county_code": f.COUNTY,
        "level": "secondary",
        "tier": "county",
        "designated": "yes",
    }
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get("/console/hospitals")
        assert page.status_code == 200
        assert f'id="hospital-{f.COUNTY_HOSPITAL}"' in page.text
        assert f'id="region-{f.COUNTY}"' in page.text
        added = await browser.post(
            "/console/hospitals", data={**form, "csrf": f.csrf_in(page.text)}
        )
        assert added.status_code == 303
        assert "%E5%B7%B2%E7%99%BB%E8%AE%B0" in added.headers["location"]  # 已登记
        read = await browser.get("/v1/hospitals/H990102077", headers=admin_headers)
        assert read.json()["designated"] is True

        page = await browser.get("/console/hospitals")
        assert 'id="hospital-H990102077"' in page.text
        withdrawn = {k: v for k, v in form.items() if k != "designated"}  # box unticked
        changed = await browser.post(
            "/console/hospitals", data={**withdrawn, "csrf": f.csrf_in(page.text)}
        )
        assert changed.status_code == 303
        read = await browser.get("/v1/hospitals/H990102077", headers=admin_headers)
        assert read.json()["designated"] is False


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"code": "H 1"}, 422, "code"),
        ({"name": ""}, 422, "name"),
        ({"county_code": "990100"}, 422, "county_code"),  # a prefecture, not a county
        ({"county_code": "990199"}, 404, "county_code"),  # not registered
        ({"level": "quaternary"}, 422, "level"),
        ({"designated": "maybe"}, 422, "designated"),  # a checkbox sends "yes" or nothing
    ],
)
async def test_a_bad_hospital_on_the_directory_page_is_refused_in_words_and_stores_nothing(
    app: FastAPI, admin_headers: dict[str, str], change: dict[str, str], status: int, field: str
) -> None:
    form = {
        "code": "H990102078",
        "name": "演示县第三医院",
        "county_code": f.COUNTY,
        "level": "primary",
        "tier": "township",
        **change,
    }
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get("/console/hospitals")
        refused = await browser.post(
            "/console/hospitals", data={**form, "csrf": f.csrf_in(page.text)}
        )
        assert refused.status_code == status, refused.text
        error = re.search(r'id="error">([^<]*)<', refused.text)
        assert error is not None
        assert field in error.group(1)
        assert f'value="{form["name"]}"' in refused.text  # the form as sent, to correct
        listed = (await browser.get("/v1/hospitals", headers=admin_headers)).json()
        assert form["code"] not in {h["code"] for h in listed}
