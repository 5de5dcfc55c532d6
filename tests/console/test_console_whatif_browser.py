"""政策测算 in real headless Chromium: an auditor pastes a proposed policy, runs it over a settled
year and reads the same figures the API gives for the same proposal; a proposal with a mistake
comes back with the error and the text still in the box (nothing typed is lost)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from sqlmodel.ext.asyncio.session import AsyncSession

from service.app import create_app
from service.policy_versions.shipped import shipped_policy_texts
from service.yearend.labels import FUND_LABELS
from tests import factories as f
from tests.browser import chromium, needs_chromium, served, sign_in, wait_for
from tests.factories import KeyFactory, bill, settle

pytestmark = needs_chromium

# The demo county's own text with the county hospital's deductible lowered: a proposal that
# moves money to the basic pool on every stay of 2024.
PROPOSAL = (
    shipped_policy_texts()["demo_990102_county.yaml"]
    .replace('version: "demo-2024.1-county"', 'version: "proposal-2025"')
    .replace('deductible_by_level: {primary: "50.00"}', 'deductible_by_level: {secondary: "0.00"}')
)


async def _a_settled_year(client: httpx.AsyncClient, session: AsyncSession, headers: Any) -> None:
    for seq in (1, 2):
        visit = await f.make_admission(
            session, resident=f.resident_id(region=f.COUNTY, seq=seq), admitted_at=f.at(2024, 4)
        )
        await settle(
            client,
            headers,
            {
                "visit_id": visit.visit_id,
                "his_settlement_id": f"W-{seq}",
                "discharged_at": "2024-04-20T09:00:00+08:00",
                "bill": bill("9000.00", "500.00"),
            },
        )


async def test_an_auditor_costs_a_proposal_and_sees_what_the_api_says(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_key: KeyFactory,
    tmp_path: Path,
) -> None:
    assert PROPOSAL != shipped_policy_texts()["demo_990102_county.yaml"]
    await _a_settled_year(
        client, session, await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL)
    )
    auditor = await make_key("auditor", region_prefix="99")
    answer = await client.post(
        "/v1/policies/whatif", json={"source_text": PROPOSAL, "over": 2024}, headers=auditor
    )
    assert answer.status_code == 200, answer.text
    api = answer.json()
    assert api["settlements"] == 2
    basic = next(x for x in api["funds"] if x["fund_type"] == "basic_insurance")
    assert basic["difference"] != "0.00"  # the lower deductible moves money between funds
    page = await asyncio.to_thread(
        _auditor_walk, create_app(app.state.settings), auditor["X-API-Key"], tmp_path
    )
    assert page["title"].startswith("proposal-2025 · 2024 年 · 2 笔结算")
    assert page["difference"] == api["funds_difference"]
    assert page["funds"] == {
        FUND_LABELS[x["fund_type"]]: [x["now"], x["proposed"], x["difference"]]
        for x in api["funds"]
    }
    assert page["error"].startswith("政策文件有误：政策文件未通过校验")
    assert "layerz: line 11" in page["error"]  # the field and line at fault, as the API says
    assert page["kept"] == page["typed"]


def _auditor_walk(app: FastAPI, key: str, tmp_path: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with served(app) as url, chromium(tmp_path / "profile") as driver:
        assert "政策测算" in sign_in(driver, url, key)
        driver.find_element(By.LINK_TEXT, "政策测算").click()

        def run(text: str, over: str) -> None:
            box = wait_for(driver, "textarea[name=source_text]")
            driver.execute_script("arguments[0].value = arguments[1]", box, text)
            year = driver.find_element(By.CSS_SELECTOR, "input[name=over]")
            year.clear()
            year.send_keys(over)
            driver.find_element(By.CSS_SELECTOR, "form.whatif button").click()

        run(PROPOSAL, "2024")
        seen["title"] = wait_for(driver, "#whatif-title").text
        seen["difference"] = driver.find_element(By.ID, "whatif-difference").text
        seen["funds"] = {
            cells[0]: cells[1:]
            for row in driver.find_elements(By.CSS_SELECTOR, "#whatif-funds tbody tr")
            if (cells := [td.text for td in row.find_elements(By.TAG_NAME, "td")])
            and cells[0] not in ("合计", "个人负担")
        }
        broken = PROPOSAL.replace("layers:", "layerz:")
        seen["typed"] = broken
        run(broken, "2024")
        seen["error"] = wait_for(driver, "#error").text
        seen["kept"] = driver.find_element(
            By.CSS_SELECTOR, "textarea[name=source_text]"
        ).get_property("value")
    return seen
