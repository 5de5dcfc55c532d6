"""The booked rows as a download (GET /v1/year-end/payments/export.{fmt}; the console's link
serves the same function): Chinese headers, amounts as numbers (an adjustment negative, not
quoted), each fund's total in the XLSX caption, and a refusal as a problem, not an empty file."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import httpx
from openpyxl import load_workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from service.yearend.export import PAYMENT_HEADERS
from tests import factories
from tests.factories import KeyFactory

KeyFor = Callable[[], Awaitable[dict[str, str]]]
YEAR = {"region_code": factories.S7_PREFECTURE, "plan_year": 2025}


async def _booked_with_an_adjustment(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital: dict[str, str],
    auditor: dict[str, str],
) -> None:
    """Two people booked (1303.06 and 1203.06), then a stay of the first reversed and the year
    run again: a row of -100.00."""
    stays = [await factories.s7_stay(client, session, hospital, n, seq=1) for n in range(3)]
    for n in range(2):
        await factories.s7_stay(client, session, hospital, n, seq=2)
    run = {**YEAR, "dry_run": False}
    assert (await client.post("/v1/year-end/runs", json=run, headers=auditor)).status_code == 200
    reversal = await client.post(
        f"/v1/settlements/{stays[2]['id']}/reversal", json={"reason": "录入错误"}, headers=hospital
    )
    assert reversal.status_code in (200, 201), reversal.text
    again = await client.post("/v1/year-end/runs", json=run, headers=auditor)
    assert again.json()["booked_now"] == "-100.00"


async def test_the_download_has_every_row_with_chinese_headers_and_the_funds_total(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    auditor = await make_key("auditor", region_prefix="32")
    await _booked_with_an_adjustment(client, session, await hospital_key(), auditor)

    xlsx = await client.get("/v1/year-end/payments/export.xlsx", params=YEAR, headers=auditor)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    caption, headers, *rows = list(sheet.values)
    assert "320200 · 2025 年度 · 各基金合计：医疗救助 2406.12" in str(caption[0])
    assert headers == PAYMENT_HEADERS
    amounts = [row[8] for row in rows]
    assert all(isinstance(a, int | float) for a in amounts)  # numbers a sheet can sum
    assert sorted(f"{a:.2f}" for a in amounts) == ["-100.00", "1203.06", "1303.06"]
    assert [row[7] for row in rows] == [1, 1, 2]  # seq: the adjustment is the second booking
    assert all(str(row[1]).count("*") == 8 for row in rows)  # masked ID numbers only

    csv = await client.get("/v1/year-end/payments/export.csv", params=YEAR, headers=auditor)
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == ",".join(PAYMENT_HEADERS)
    assert lines[3].split(",")[8:10] == ["-100.00", "1203.06"]  # a number, not made text


async def test_a_refused_download_is_a_problem_not_an_empty_file(
    client: httpx.AsyncClient, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    hospital = await hospital_key()
    url = "/v1/year-end/payments/export.csv"
    elsewhere = await client.get(
        url, params=YEAR, headers=await make_key("auditor", region_prefix="99")
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "region_out_of_scope")
    unknown = await client.get(
        url, params={**YEAR, "region_code": "320299"}, headers=await make_key("admin")
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "region_not_found")
    too_late = await client.get(
        url, params={**YEAR, "plan_year": 2999}, headers=await make_key("admin")
    )
    assert (too_late.status_code, too_late.json()["code"]) == (422, "plan_year_out_of_range")
    assert (await client.get(url, params=YEAR, headers=hospital)).status_code == 403
