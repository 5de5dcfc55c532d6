"""The console in real headless Chromium (Debian's package, driven by Selenium): sign in,
filter, open a violation, verify its rectification, export, and look at the scoreboard.
A failing step leaves a screenshot in test-artifacts/."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from service.app import create_app
from tests import factories as f
from tests.browser import chromium, served

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# .ci/run installs Chromium and the dev extras install selenium: under CI a missing one is a
# failure, never a skip that would leave the console untested while the run stays green.
REQUIRED = bool(os.environ.get("CI"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        (CHROMIUM is None or CHROMEDRIVER is None) and not REQUIRED,
        reason="needs Chromium and its driver: apt-get install chromium chromium-driver "
        "(Debian's packages), then scripts/test again",
    ),
]
if REQUIRED:
    from selenium import webdriver
else:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="needs selenium (pip install -e '.[dev]')"
    )
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """A second app on the same test database, served by uvicorn on a free loopback port."""
    with served(create_app(app.state.settings)) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(tmp_path / "profile", downloads=downloads) as driver:
        driver.downloads = downloads
        yield driver


def _screenshot_on_failure(driver: Any, name: str) -> Any:
    class _Guard:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, *_: Any) -> None:
            if kind is not None:
                ARTIFACTS.mkdir(exist_ok=True)
                driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    return _Guard()


@pytest.fixture
async def seeded(
    app: FastAPI, make_key: Any, admin_headers: dict[str, str], client: Any
) -> dict[str, Any]:
    ids = await f.book(
        app.state.sessionmaker,
        f.finding(visit_id="V-OPEN"),
        f.finding(visit_id="V-DONE", rule_code="NOT_ONE_STOP"),
        f.finding(
            visit_id="V-NEIGHBOUR",
            county_code=f.NEIGHBOUR_COUNTY,
            hospital_code=f.NEIGHBOUR_HOSPITAL,
        ),
    )
    for to in ("rectifying", "rectified"):
        r = await client.post(
            f"/v1/violations/{ids[1]}/transitions",
            json={"to_status": to, "note": "已退还"},
            headers=admin_headers,
        )
        assert r.status_code == 201
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    return {"ids": ids, "auditor": auditor["X-API-Key"]}


def _wait(driver: Any, css: str) -> Any:
    return WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


async def test_sign_in_filter_open_verify_and_export(
    seeded: dict[str, Any], live_url: str, browser: Any
) -> None:
    seen = await asyncio.to_thread(_walk_through, browser, live_url, seeded)
    assert seen["status"] == "已销号"  # verified in the browser
    assert "现场核验" in seen["history"][-1]  # the note typed in the form, in the history
    assert seen["csv_rows"] == 1  # the export holds the one verified finding
    assert seen["total_points"] == "0.40"


def _walk_through(driver: Any, url: str, seeded: dict[str, Any]) -> dict[str, Any]:
    with _screenshot_on_failure(driver, "console_walk_through"):
        driver.get(f"{url}/console/violations")
        _wait(driver, "#api_key").send_keys(seeded["auditor"])
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        assert "督查" in _wait(driver, "#who").text
        rows = driver.find_elements(By.CSS_SELECTOR, "#ledger tbody tr")
        assert len(rows) == 2  # the neighbour county is outside this auditor's region
        assert driver.find_element(By.ID, "total").text == "2"

        Select(driver.find_element(By.ID, "status")).select_by_visible_text("已整改")
        driver.find_element(By.CSS_SELECTOR, "#filters button").click()
        WebDriverWait(driver, 10).until(lambda d: "status=rectified" in d.current_url)
        links = driver.find_elements(By.CSS_SELECTOR, "a.open-violation")
        assert [a.text for a in links] == [f"#{seeded['ids'][1]}"]

        links[0].click()
        assert _wait(driver, "#current-status").text == "已整改"
        assert len(driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 2
        assert "未一站式结算" in driver.page_source
        Select(driver.find_element(By.ID, "to_status")).select_by_value("verified")
        driver.find_element(By.ID, "note").send_keys("现场核验，押金已退还")
        driver.find_element(By.ID, "evidence_ref").send_keys("核验单-2026-031")
        driver.find_element(By.CSS_SELECTOR, "#transition button").click()
        assert _wait(driver, "#flash").text == "已办理"
        status = driver.find_element(By.ID, "current-status").text
        history = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")]
        assert len(history) == 3

        driver.get(f"{url}/console/violations?status=verified")
        _wait(driver, "#export-csv").click()
        path = _downloaded(driver.downloads, "violations.csv")
        text = path.read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith("编号,发现时间")
        assert "已销号" in text

        driver.get(f"{url}/console/scoreboard")
        assert _wait(driver, "svg.chart") is not None
        return {
            "status": status,
            "history": history,
            "csv_rows": len(text.strip().splitlines()) - 1,
            "total_points": driver.find_element(By.ID, "total-points").text,
        }


def _downloaded(folder: Path, name: str) -> Path:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        path = folder / name
        if path.exists() and path.stat().st_size > 0:
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded; found {list(folder.iterdir())}")


@pytest.fixture
async def money(app: FastAPI, make_key: Any, client: Any) -> dict[str, Any]:
    await f.Ledger(app).settle(f.at(2026, 3, 5), basic=432_10, visit_id="V-BROWSER")
    hospital = await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL)
    await f.settled_share(app, client, hospital)
    auditor = await make_key("auditor", region_prefix="99")
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    return {"auditor": auditor["X-API-Key"], "fund": fund["X-API-Key"]}


async def test_clearing_and_receivables_pages(
    money: dict[str, Any], live_url: str, browser: Any
) -> None:
    seen = await asyncio.to_thread(_money_pages, browser, live_url, money)
    assert seen["auditor_fund_own"] == "432.10"  # the basic fund's own amount for March
    assert seen["overdue"] == "1"  # the patient's share past its due date
    assert seen["fund_menu"] == ["基金清算"]  # a fund key is offered its clearing page only
    assert seen["fund_fund_own"] == "432.10"


def _money_pages(driver: Any, url: str, money: dict[str, Any]) -> dict[str, Any]:
    with _screenshot_on_failure(driver, "console_money"):
        driver.get(f"{url}/console/clearing")
        _wait(driver, "#api_key").send_keys(money["auditor"])
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        _wait(driver, "#who")
        driver.get(f"{url}/console/clearing")
        _wait(driver, "input[name=hospital_code]").send_keys(f.COUNTY_HOSPITAL)
        driver.find_element(By.CSS_SELECTOR, "input[name=period]").send_keys("2026-03")
        driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
        seen = {"auditor_fund_own": _wait(driver, "#fund-own").text}
        assert "V-BROWSER" in driver.page_source
        driver.find_element(By.LINK_TEXT, "先诊疗后付费").click()
        seen["overdue"] = _wait(driver, "#overdue-count").text
        # A fund key signs in to its own clearing page, and is offered no other page.
        driver.delete_all_cookies()
        driver.get(f"{url}/console/login")
        _wait(driver, "#api_key").send_keys(money["fund"])
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        _wait(driver, "input[name=hospital_code]").send_keys(f.COUNTY_HOSPITAL)
        assert driver.current_url.endswith("/console/clearing")
        seen["fund_menu"] = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
        driver.find_element(By.CSS_SELECTOR, "input[name=period]").send_keys("2026-03")
        driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
        seen["fund_fund_own"] = _wait(driver, "#fund-own").text
        return seen
