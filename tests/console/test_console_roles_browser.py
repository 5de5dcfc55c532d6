"""Each console role in real headless Chromium: the pages its menu offers and the work it does
there. A hospital sees its own findings and starts their rectification; an admin issues and
revokes a key and reads the policies. (The auditor's walk: test_console_browser.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from service.app import create_app
from tests import factories as f
from tests.browser import (
    chromium,
    needs_chromium,
    served,
    sign_in,
    wait_for,
    wait_until_replaced,
)
from tests.factories import KeyFactory

pytestmark = needs_chromium


async def test_a_hospital_sees_its_own_findings_and_starts_rectifying(
    app: FastAPI, make_key: KeyFactory, tmp_path: Path
) -> None:
    await f.book(
        app.state.sessionmaker,
        f.finding(visit_id="V-OWN"),
        f.finding(visit_id="V-OTHER", hospital_code=f.TOWNSHIP_HOSPITAL),
    )
    key = (await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL))["X-API-Key"]
    seen = await asyncio.to_thread(_hospital_walk, create_app(app.state.settings), key, tmp_path)
    assert seen["menu"] == ["问题台账", "考核扣分", "基金清算", "先诊疗后付费"]
    assert seen["rows"] == 1  # the township hospital's finding is not this hospital's
    assert seen["status"] == "整改中"  # it started the rectification
    assert seen["indicators_refused"] is True  # region figures are the auditors'


def _hospital_walk(app: FastAPI, key: str, tmp_path: Path) -> dict[str, Any]:
    with served(app) as url, chromium(tmp_path / "profile") as driver:
        menu = sign_in(driver, url, key)
        rows = driver.find_elements(By.CSS_SELECTOR, "#ledger tbody tr")
        driver.find_element(By.CSS_SELECTOR, "a.open-violation").click()
        Select(wait_for(driver, "#to_status")).select_by_value("rectifying")
        driver.find_element(By.ID, "note").send_keys("已退还押金，整改中")
        driver.find_element(By.CSS_SELECTOR, "#transition button").click()
        assert wait_for(driver, "#flash").text == "已办理"
        status = driver.find_element(By.ID, "current-status").text

        driver.get(f"{url}/console/indicators")
        # a page in words with the menu, not the problem+json it was
        refused = "无权查看此页" in wait_for(driver, "#error").text
        refused &= "urn:settlecheck:problem" not in driver.page_source
        return {"menu": menu, "rows": len(rows), "status": status, "indicators_refused": refused}


async def test_an_admin_issues_and_revokes_a_key_and_reads_a_policy(
    app: FastAPI, make_key: KeyFactory, tmp_path: Path
) -> None:
    key = (await make_key("admin"))["X-API-Key"]
    seen = await asyncio.to_thread(_admin_walk, create_app(app.state.settings), key, tmp_path)
    assert {"密钥管理", "政策版本", "政策测算"} <= set(seen["menu"])
    assert seen["token"].startswith("sck_")  # shown once, on issue
    assert seen["shown_again"] is False  # a reload of that page shows it no more
    assert len(seen["issued_rows"]) == 1  # and issues no second key
    assert "已停用" in seen["revoked_row"]  # the key it issued, revoked from its row
    assert seen["policy_heading"] == seen["policy_link"]
    assert "effective_from" in seen["policy_source"]  # the version's text, as stored


def _admin_walk(app: FastAPI, key: str, tmp_path: Path) -> dict[str, Any]:
    with served(app) as url, chromium(tmp_path / "profile") as driver:
        menu = sign_in(driver, url, key)
        driver.find_element(By.LINK_TEXT, "密钥管理").click()
        Select(wait_for(driver, "#issue-key select[name=role]")).select_by_value("hospital")
        driver.find_element(By.CSS_SELECTOR, "input[name=hospital_code]").send_keys(
            f.TOWNSHIP_HOSPITAL
        )
        driver.find_element(By.CSS_SELECTOR, "input[name=label]").send_keys("乡镇卫生院收费处")
        driver.find_element(By.CSS_SELECTOR, "#issue-key button").click()
        token = wait_for(driver, "#issued-token").text
        # A reload asks for the page again (the form answered with a redirect): no second key,
        # and the token is not shown again.
        shown = driver.find_element(By.TAG_NAME, "html")
        driver.refresh()
        wait_until_replaced(driver, shown)
        wait_for(driver, "#keys")
        shown_again = bool(driver.find_elements(By.CSS_SELECTOR, "#issued-token"))
        issued_rows = [
            r.text
            for r in driver.find_elements(By.CSS_SELECTOR, "#keys tbody tr")
            if "乡镇卫生院收费处" in r.text
        ]
        row = next(
            r
            for r in driver.find_elements(By.CSS_SELECTOR, "#keys tbody tr")
            if "乡镇卫生院收费处" in r.text
        )
        assert "有效" in row.text
        row.find_element(By.CSS_SELECTOR, "button.revoke").click()
        # the issuing page had a flash of its own: wait for the revoked page's
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
            lambda d: "已停用" in d.find_element(By.CSS_SELECTOR, "#flash").text
        )
        row = next(
            r
            for r in driver.find_elements(By.CSS_SELECTOR, "#keys tbody tr")
            if "乡镇卫生院收费处" in r.text
        )
        revoked_row = row.text

        driver.find_element(By.LINK_TEXT, "政策版本").click()
        first = wait_for(driver, "#policies tbody tr a")
        name = first.text
        first.click()
        return {
            "menu": menu,
            "token": token,
            "shown_again": shown_again,
            "issued_rows": issued_rows,
            "revoked_row": revoked_row,
            "policy_link": name,
            "policy_heading": wait_for(driver, "h1").text,
            "policy_source": driver.find_element(By.ID, "policy-source").text,
        }
