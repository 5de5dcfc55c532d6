"""年度补足 in real headless Chromium: an auditor of the prefecture opens the page from the menu,
dry-runs (试算) the S7 year, then books it (确认入账), and reads the amounts the API reports for
the same region and year; a year like 2999 comes back with the problem in Chinese and what was
typed still in the form."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from sqlmodel.ext.asyncio.session import AsyncSession

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
YEAR = {"region_code": f.S7_PREFECTURE, "plan_year": 2025}


def _rows(driver: Any, table: str) -> list[list[str]]:
    return [
        [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        for row in driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
    ]


async def test_an_auditor_dry_runs_then_books_and_sees_what_the_api_reports(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_key: KeyFactory,
    tmp_path: Path,
) -> None:
    await f.seed_s7_region(app.state.sessionmaker, client, await make_key("admin"))
    hospital = await make_key("hospital", hospital_code=f.S7_HOSPITAL)
    await f.s7_year(client, session, hospital, people=2)
    auditor = await make_key("auditor", region_prefix="3202")
    dry = await client.post("/v1/year-end/runs", json={**YEAR, "dry_run": True}, headers=auditor)
    assert dry.status_code == 200, dry.text
    api_run = dry.json()
    assert api_run["booked_now"] == "2506.12"  # 1303.06 + 1203.06, before anything is booked

    seen = await asyncio.to_thread(
        _auditor_walk, create_app(app.state.settings), auditor["X-API-Key"], tmp_path
    )

    booked = await client.get("/v1/year-end/payments", params=YEAR, headers=auditor)
    api_rows = booked.json()
    assert [x["fund_type"] for x in api_run["funds"]] == ["medical_aid"]
    assert seen["dry_funds"] == [
        ["医疗救助", x["year_total"], x["booked_before"], x["booked_now"]] for x in api_run["funds"]
    ]
    assert seen["dry_now"] == api_run["booked_now"]
    assert seen["dry_persons"] == [
        [p["person_masked"], e["stays"], e["cost"], e["self_pay"], e["deductible"], e["booked_now"]]
        for p in api_run["persons"]
        for e in p["entries"]
    ]
    assert seen["after_dry_run"] == [["尚未入账"]]  # the dry run stored nothing
    assert seen["booked_now"] == api_run["booked_now"]
    assert seen["flash"] == f"已入账 2 笔，合计 {api_run['booked_now']} 元"
    assert seen["payments"] == {
        str(p["id"]): [p["person_masked"], p["amount"]] for p in api_rows["payments"]
    }
    assert seen["totals"] == [["医疗救助", t["total"]] for t in api_rows["funds"]]
    assert seen["error"].startswith("年度有误：")
    assert seen["kept"] == (f.S7_PREFECTURE, "2999")


def _auditor_walk(app: FastAPI, key: str, tmp_path: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with served(app) as url, chromium(tmp_path / "profile") as driver:
        assert "年度补足" in sign_in(driver, url, key)
        driver.find_element(By.LINK_TEXT, "年度补足").click()

        def run(button: str, year: str) -> None:
            region = wait_for(driver, "#yearend-run input[name=region_code]")
            region.clear()
            region.send_keys(f.S7_PREFECTURE)
            plan_year = driver.find_element(By.CSS_SELECTOR, "#yearend-run input[name=plan_year]")
            plan_year.clear()
            plan_year.send_keys(year)
            page = driver.find_element(By.TAG_NAME, "html")
            driver.find_element(By.ID, button).click()
            wait_until_replaced(driver, page)  # the answer's page, not this one

        run("dry-run", "2025")
        assert wait_for(driver, "#run-title").text.startswith("试算结果（未入账）")
        seen["dry_now"] = driver.find_element(By.ID, "run-booked-now").text
        seen["dry_funds"] = _rows(driver, "run-funds")
        seen["dry_persons"] = [
            [masked, int(stays), cost, self_pay, deductible, now]
            for masked, _pool, _name, stays, cost, self_pay, deductible, _y, _b, now in _rows(
                driver, "run-persons"
            )
        ]
        seen["after_dry_run"] = _rows(driver, "payments")

        run("book", "2025")
        assert wait_for(driver, "#run-title").text.startswith("入账结果")
        seen["booked_now"] = driver.find_element(By.ID, "run-booked-now").text
        seen["flash"] = driver.find_element(By.ID, "flash").text
        seen["payments"] = {
            cells[0]: [cells[1], cells[6]]  # the id: the person and the amount booked
            for cells in _rows(driver, "payments")
        }
        seen["totals"] = _rows(driver, "payment-funds")

        run("dry-run", "2999")
        seen["error"] = wait_for(driver, "#error").text
        seen["kept"] = tuple(
            driver.find_element(By.CSS_SELECTOR, f"#yearend-run input[name={name}]").get_property(
                "value"
            )
            for name in ("region_code", "plan_year")
        )
    return seen
