"""A rectification note typed while the console session ran out, in real headless Chromium: the
browser still sends the cookie, the answer is the sign-in page carrying the note, and signing in
again shows the form filled in; the finding changes only when the form is submitted again
(service/console/carry.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from service.app import create_app
from tests import factories as f
from tests.browser import chromium, needs_chromium, served, sign_in, wait_for, wait_until_replaced

pytestmark = needs_chromium

NOTE = "押金已于当日退还患者，<b>收据</b>编号见佐证。" * 20


async def test_a_note_typed_past_the_sessions_end_survives_signing_in_again(
    app: FastAPI, hospital_headers: dict[str, str], tmp_path: Path
) -> None:
    (violation_id,) = await f.book(app.state.sessionmaker, f.finding(visit_id="V1"))
    key = hospital_headers["X-API-Key"]
    with served(create_app(app.state.settings)) as url, chromium(tmp_path / "p") as driver:
        await asyncio.to_thread(_type_the_note, driver, url, key, violation_id)
        await f.expire_console_sessions(app.state.sessionmaker)
        seen = await asyncio.to_thread(_submit_and_sign_in_again, driver, key)
        assert seen["carried_page"] == "登录"
        assert seen["kept_note"] == NOTE
        assert seen["kept_step"] == "rectifying"
        assert seen["status_before_resubmit"] == "待整改"
        assert seen["status_after"] == "整改中"
        assert seen["history_note"] == NOTE


def _type_the_note(driver: Any, url: str, key: str, violation_id: int) -> None:
    sign_in(driver, url, key)
    driver.get(f"{url}/console/violations/{violation_id}")
    Select(wait_for(driver, "#to_status")).select_by_value("rectifying")
    driver.find_element(By.ID, "note").send_keys(NOTE)


def _submit_and_sign_in_again(driver: Any, key: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#transition button").click()
    wait_until_replaced(driver, page)
    wait_for(driver, "#api_key").send_keys(key)
    seen["carried_page"] = driver.title.split(" ")[0]
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    wait_until_replaced(driver, page)
    seen["kept_note"] = wait_for(driver, "#note").get_property("value")
    seen["kept_step"] = Select(
        driver.find_element(By.ID, "to_status")
    ).first_selected_option.get_attribute("value")
    seen["status_before_resubmit"] = driver.find_element(By.ID, "current-status").text
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#transition button").click()
    wait_until_replaced(driver, page)
    seen["status_after"] = wait_for(driver, "#current-status").text
    seen["history_note"] = driver.find_element(
        By.CSS_SELECTOR, "#history tbody tr td:nth-child(4)"
    ).text
    return seen


async def test_a_filtered_page_reloaded_past_the_sessions_end_is_filtered_after_signing_in(
    app: FastAPI, auditor_headers: dict[str, str], tmp_path: Path
) -> None:
    key = auditor_headers["X-API-Key"]
    filtered = "/console/violations?status=open&hospital_code=H990102002"
    with served(create_app(app.state.settings)) as url, chromium(tmp_path / "p") as driver:
        await asyncio.to_thread(sign_in, driver, url, key)
        await f.expire_console_sessions(app.state.sessionmaker)
        landed = await asyncio.to_thread(_reload_and_sign_in_again, driver, url + filtered, key)
    assert landed == url + filtered


def _reload_and_sign_in_again(driver: Any, address: str, key: str) -> str:
    driver.get(address)
    wait_for(driver, "#api_key").send_keys(key)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    wait_until_replaced(driver, page)
    wait_for(driver, "main")
    return str(driver.current_url)
