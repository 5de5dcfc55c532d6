"""The console's charts and drill-down in real headless Chromium: the trend page draws its
lines and stacked bars, and a click goes from a county on the scoreboard to its hospitals and
from a hospital to its findings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from service.app import create_app
from tests import factories as f
from tests.browser import chromium, needs_chromium, served
from tests.factories import KeyFactory

pytestmark = needs_chromium


async def test_trends_and_drill_down(app: FastAPI, make_key: KeyFactory, tmp_path: Path) -> None:
    april = datetime(2026, 4, 2, 4, tzinfo=UTC)
    await f.book(
        app.state.sessionmaker,
        f.finding(detected_at=april),
        f.finding(detected_at=april, rule_code="NO_FAMILY_DOCTOR"),
        f.finding(
            detected_at=april, county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )
    key = (await make_key("auditor", region_prefix="99"))["X-API-Key"]
    seen = await asyncio.to_thread(_walk, create_app(app.state.settings), key, tmp_path)
    assert seen["segments"] == 2  # April: two rules (the neighbour county's is one of them)
    assert "演示县人民医院" in seen["hospitals"]  # the drill-down into the demo county
    assert "邻县中医院" not in seen["hospitals"]
    assert seen["findings"] == 2  # the county hospital's two findings, one click further


def _walk(app: FastAPI, key: str, tmp_path: Path) -> dict[str, Any]:
    with served(app) as url, chromium(tmp_path / "profile") as driver:
        driver.get(f"{url}/console/login")
        _wait(driver, "#api_key").send_keys(key)
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        _wait(driver, "#who")

        driver.get(f"{url}/console/trends?until=2026-04-30")
        segments = driver.find_elements(By.CSS_SELECTOR, "#findings-chart rect.seg")
        heights = [float(s.get_attribute("height")) for s in segments]
        assert max(heights) > 0
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline")
        drill = driver.find_elements(By.CSS_SELECTOR, "a.drill")
        assert {a.text for a in drill} >= {"演示县", "邻县"}

        driver.get(f"{url}/console/scoreboard")
        _click_text(driver, "a.drill", "演示县")
        WebDriverWait(driver, 10).until(lambda d: "region=990102" in d.current_url)
        hospitals = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.drill")]
        _click_text(driver, "a.drill", "演示县人民医院")
        WebDriverWait(driver, 10).until(lambda d: "hospital_code=H990102002" in d.current_url)
        findings = len(driver.find_elements(By.CSS_SELECTOR, "a.open-violation"))
        return {"segments": len(segments), "hospitals": hospitals, "findings": findings}


def _wait(driver: Any, css: str) -> Any:
    return WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def _click_text(driver: Any, css: str, text: str) -> None:
    for element in driver.find_elements(By.CSS_SELECTOR, css):
        if element.text == text:
            element.click()
            return
    raise AssertionError(f"no {css} reading {text!r}")
