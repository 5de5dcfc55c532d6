"""The console's clearing and pay-after-treatment pages render each scope's figures."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests import factories
from tests.factories import Ledger, at, receivable_of
from tests.factories import settled_share as settled


async def _login(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/console/login", data={"api_key": headers["X-API-Key"]})
    assert response.status_code == 303


async def test_the_clearing_page_shows_a_statement_and_its_lines(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    await ledger.settle(at(2026, 3, 5), basic=432_10, visit_id="V-CONSOLE")
    await _login(client, auditor_headers)
    params = {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
              "period": "2026-03"}  # fmt: skip
    response = await client.get("/console/clearing", params=params)
    assert response.status_code == 200
    assert '<td class="num" id="fund-own">432.10</td>' in response.text
    assert "V-CONSOLE" in response.text
    hidden = await client.get("/console/clearing", params={**params, "hospital_code": "H500112001"})
    assert "V-CONSOLE" not in hidden.text


async def test_the_receivables_page_lists_overdue_shares_and_marks(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": "拒不支付"},
        headers=hospital_headers,
    )
    await _login(client, auditor_headers)
    response = await client.get("/console/receivables")
    assert response.status_code == 200
    assert '<strong id="overdue-count">1</strong>' in response.text
    assert "拒不支付" in response.text
    assert receivable["amount_due"] in response.text
