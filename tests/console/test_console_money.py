"""The console's clearing and pay-after-treatment pages render each scope's figures."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
from fastapi import FastAPI

from service.china_time import CHINA_TZ
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


async def test_a_closed_statement_downloads_from_the_page_as_the_api_gives_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    make_key: factories.KeyFactory,
) -> None:
    """The page linked the API's address, which a browser (no API key) is refused: a 401."""
    await Ledger(app).settle(at(2026, 1, 5), basic=100_00, visit_id="V-CLOSED")
    params = {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
              "period": "2026-01"}  # fmt: skip
    closed = await client.post("/v1/clearing/statements", json=params, headers=auditor_headers)
    assert closed.status_code == 201, closed.text
    statement = closed.json()["id"]
    await _login(client, auditor_headers)
    page = await client.get("/console/clearing", params=params)
    links = re.findall(r'href="([^"]*/export[^"]*)"', page.text)
    assert links == [
        f"/console/clearing/statements/{statement}/export.csv?",
        f"/console/clearing/statements/{statement}/export.xlsx?",
    ]
    for link in links:
        got = await client.get(link)
        fmt = "csv" if ".csv" in link else "xlsx"
        api = await client.get(
            f"/v1/clearing/statements/{statement}/export",
            params={"format": fmt},
            headers=auditor_headers,
        )
        assert (got.status_code, api.status_code) == (200, 200)
        assert got.headers["content-disposition"] == api.headers["content-disposition"]
        if fmt == "csv":
            assert got.content == api.content
            assert "V-CLOSED" in got.text
    # another hospital's key is not shown the statement (404), as through the API
    other = await make_key("hospital", hospital_code=factories.NEIGHBOUR_HOSPITAL)
    client.cookies.clear()
    await _login(client, other)
    assert (await client.get(links[0])).status_code == 404


async def test_the_clearing_form_sent_with_empty_fields_is_the_page_not_a_refusal(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    """A browser sends every field of a GET form, the empty ones as `name=`: an auditor who
    presses 查询 before typing a hospital or a month gets the page, as on the other filters."""
    await Ledger(app).settle(at(2026, 3, 5), basic=432_10, visit_id="V-EMPTY")
    await _login(client, auditor_headers)
    blank = await client.get(
        "/console/clearing", params={"fund_code": "F99-BASIC", "hospital_code": "", "period": ""}
    )
    assert blank.status_code == 200, blank.text
    assert 'id="statement"' not in blank.text
    typed = {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL, "period": " "}
    assert (await client.get("/console/clearing", params=typed)).status_code == 200
    month = {**typed, "fund_code": "", "period": "2026-03"}
    shown = await client.get("/console/clearing", params=month)
    assert '<td class="num" id="fund-own">432.10</td>' in shown.text
    wrong = await client.get("/console/clearing", params={**month, "period": "2026-13"})
    assert wrong.status_code == 422
    assert re.search(r'name="period" value="2026-13"', wrong.text)


async def test_a_defaulter_mark_is_listed_at_its_china_time(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    """Every time on the console is China time: the mark's, in UTC, read eight hours early."""
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    mark = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": "拒不支付"},
        headers=hospital_headers,
    )
    at = datetime.fromisoformat(mark.json()["created_at"]).astimezone(CHINA_TZ)
    await _login(client, auditor_headers)
    page = await client.get("/console/receivables")
    assert f"<tr><td>{at:%Y-%m-%d %H:%M}</td><td>{factories.COUNTY_HOSPITAL}</td>" in page.text
