"""Statements per fund, hospital and month; closing; scope by role; export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook

from service.base import utcnow
from service.china_time import today
from tests import factories
from tests.factories import KeyFactory, Ledger, at

BASIC, CRITICAL = "F99-BASIC", "F99-CRITICAL"


def _q(fund: str, period: str, hospital: str = factories.COUNTY_HOSPITAL) -> dict[str, str]:
    return {"fund_code": fund, "hospital_code": hospital, "period": period}


async def _statement(
    client: httpx.AsyncClient, headers: dict[str, str], fund: str, period: str
) -> dict[str, object]:
    response = await client.get("/v1/clearing/statement", params=_q(fund, period), headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def _close(
    client: httpx.AsyncClient, headers: dict[str, str], fund: str, period: str, status: int = 201
) -> dict[str, object]:
    response = await client.post("/v1/clearing/statements", json=_q(fund, period), headers=headers)
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_month_is_its_settlements_minus_its_reversals_in_nhsa_shape(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    first = await ledger.settle(at(2026, 3, 2), basic=800_00, critical=150_00, patient=50_00)
    await ledger.reverse(first, at(2026, 3, 20))
    await ledger.settle(at(2026, 3, 21), basic=700_00, patient=300_00)
    await ledger.settle(at(2026, 4, 2), basic=999_00)  # next month: not in March
    basic = await _statement(client, auditor_headers, BASIC, "2026-03")
    assert basic["status"] == "open"
    assert (basic["fund_own_amt"], basic["setl_cnt"], basic["line_count"]) == ("700.00", 1, 3)
    assert basic["medfee_sumamt"] == "1000.00"
    assert basic["fund_pay_sumamt"] == "700.00"
    assert basic["psn_cash_pay"] == "300.00"
    critical = await _statement(client, auditor_headers, CRITICAL, "2026-03")
    assert (critical["fund_own_amt"], critical["line_count"]) == ("0.00", 2)


async def test_a_reversal_after_the_close_is_an_adjustment_of_the_later_month(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    march = await ledger.settle(at(2026, 3, 5), basic=500_00)
    closed = await _close(client, auditor_headers, BASIC, "2026-03")
    assert closed["status"] == "closed"
    assert closed["fund_own_amt"] == "500.00"
    assert len(str(closed["content_hash"])) == 64
    assert closed["prev_hash"] == "0" * 64
    await ledger.reverse(march, at(2026, 4, 3))
    again = await _statement(client, auditor_headers, BASIC, "2026-03")
    assert again == closed  # a closed statement never changes
    april = await _statement(client, auditor_headers, BASIC, "2026-04")
    [line] = april["lines"]  # type: ignore[misc]
    assert (line["kind"], line["adjustment"], line["fund_own_amt"]) == ("reversal", True, "-500.00")
    assert april["fund_own_amt"] == "-500.00"
    closed_april = await _close(client, auditor_headers, BASIC, "2026-04")
    assert closed_april["prev_hash"] == closed["content_hash"]


async def test_closing_is_once_in_order_and_only_after_the_month(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    ledger = Ledger(app)
    await ledger.settle(at(2026, 1, 5), basic=100_00)
    await ledger.settle(at(2026, 2, 5), basic=200_00)
    skipped = await client.post("/v1/clearing/statements", json=_q(BASIC, "2026-02"), headers=fund)
    assert (skipped.status_code, skipped.json()["code"]) == (409, "earlier_period_open")
    first = await _close(client, fund, BASIC, "2026-01")
    twice = await _close(
        client, fund, BASIC, "2026-01"
    )  # a replay: 201 again, with Idempotent-Replayed (ADR 0030)
    assert twice == first
    await _close(client, fund, BASIC, "2026-02")
    late = await client.post("/v1/clearing/statements", json=_q(BASIC, "2025-12"), headers=fund)
    assert (late.status_code, late.json()["code"]) == (409, "period_closed")
    this_month = today().strftime("%Y-%m")  # China's month: from 16:00 UTC not UTC's
    now = await client.post("/v1/clearing/statements", json=_q(BASIC, this_month), headers=fund)
    assert (now.status_code, now.json()["code"]) == (409, "period_not_over")
    assert [e["field"] for e in now.json()["errors"]] == ["period"]
    # A month to come is refused as reading it is: it has not begun, the period is at fault.
    for month in ("2099-01", "2999-12"):
        not_yet = await client.post("/v1/clearing/statements", json=_q(BASIC, month), headers=fund)
        assert (not_yet.status_code, not_yet.json()["code"]) == (422, "period_not_begun")
        assert [e["field"] for e in not_yet.json()["errors"]] == ["period"]


async def test_each_role_sees_only_its_scope(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
) -> None:
    ledger = Ledger(app)
    await ledger.settle(at(2026, 3, 5), basic=500_00, critical=20_00)
    basic_key = await make_key("fund", region_prefix="99", fund_code=BASIC)
    elsewhere = await make_key("fund", region_prefix="9902", fund_code=BASIC)
    far_auditor = await make_key("auditor", region_prefix="50")
    assert (await _statement(client, basic_key, BASIC, "2026-03"))["fund_own_amt"] == "500.00"
    assert (await _statement(client, hospital_headers, CRITICAL, "2026-03"))[
        "fund_own_amt"
    ] == "20.00"
    cases = [
        (basic_key, CRITICAL, "fund_not_found"),  # another fund's figures
        (elsewhere, BASIC, "hospital_not_found"),  # a hospital outside the key's region
        (other_hospital_headers, BASIC, "hospital_not_found"),
        (far_auditor, BASIC, "hospital_not_found"),
    ]
    for headers, fund, code in cases:
        response = await client.get(
            "/v1/clearing/statement", params=_q(fund, "2026-03"), headers=headers
        )
        assert (response.status_code, response.json()["code"]) == (404, code)
    refused = await client.post(
        "/v1/clearing/statements", json=_q(BASIC, "2026-03"), headers=hospital_headers
    )
    assert refused.status_code == 403
    funds = await client.get("/v1/clearing/funds", headers=basic_key)
    assert [f["code"] for f in funds.json()] == [BASIC]


async def test_fund_keys_need_a_registered_fund(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    unknown = await client.post(
        "/v1/keys",
        json={"role": "fund", "fund_code": "NOPE", "region_prefix": "99"},
        headers=admin_headers,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "fund_not_found")
    no_region = await client.post(
        "/v1/keys", json={"role": "fund", "fund_code": BASIC}, headers=admin_headers
    )
    assert (no_region.status_code, no_region.json()["errors"][0]["field"]) == (422, "region_prefix")
    made = await client.post(
        "/v1/keys",
        json={"role": "fund", "fund_code": BASIC, "region_prefix": "9901"},
        headers=admin_headers,
    )
    assert made.status_code == 201
    assert made.json()["fund_code"] == BASIC
    mixed = await client.post(
        "/v1/keys",
        json={"role": "auditor", "fund_code": BASIC, "region_prefix": "99"},
        headers=admin_headers,
    )
    assert (mixed.status_code, mixed.json()["errors"][0]["field"]) == (422, "fund_code")


async def test_funds_are_registered_by_admins_only(
    client: httpx.AsyncClient, admin_headers: dict[str, str], auditor_headers: dict[str, str]
) -> None:
    body = {"code": "F50-AID", "fund_type": "medical_aid", "region_code": "50",
            "name": "重庆市医疗救助基金", "owner": "重庆市医疗保障局"}  # fmt: skip
    assert (
        await client.post("/v1/clearing/funds", json=body, headers=auditor_headers)
    ).status_code == 403
    made = await client.post("/v1/clearing/funds", json=body, headers=admin_headers)
    assert made.status_code == 201
    assert "Idempotent-Replayed" not in made.headers
    same = await client.post("/v1/clearing/funds", json=body, headers=admin_headers)
    assert (same.status_code, same.headers["Idempotent-Replayed"]) == (201, "true")  # ADR 0030
    assert same.json() == made.json()
    other = await client.post(
        "/v1/clearing/funds", json={**body, "owner": "x"}, headers=admin_headers
    )
    assert (other.status_code, other.json()["code"]) == (409, "fund_exists")
    twin = await client.post(
        "/v1/clearing/funds", json={**body, "code": "F50-AID2"}, headers=admin_headers
    )
    assert (twin.status_code, twin.json()["errors"][0]["field"]) == (409, "region_code")


async def test_a_fund_registered_later_takes_no_line_another_fund_closed(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    """A county's own basic fund, registered in the autumn, pays from then on: the March
    settlement the province fund closed (and may have paid) is not owed again by the county
    fund, and its reversal in April corrects the province fund that paid it."""
    ledger = Ledger(app)
    march = await ledger.settle(at(2026, 3, 5), basic=500_00)
    closed = await _close(client, auditor_headers, BASIC, "2026-03")
    assert closed["fund_own_amt"] == "500.00"
    county = {"code": "F990102-BASIC", "fund_type": "basic_insurance",
              "region_code": factories.COUNTY, "name": "演示县基本医保",
              "owner": "演示县医保局"}  # fmt: skip
    made = await client.post("/v1/clearing/funds", json=county, headers=admin_headers)
    assert made.status_code == 201, made.text
    await ledger.reverse(march, at(2026, 4, 3))
    later = await ledger.settle(utcnow(), basic=300_00)
    this_month = today().strftime("%Y-%m")
    county_march = await _statement(client, auditor_headers, "F990102-BASIC", "2026-03")
    assert (county_march["fund_own_amt"], county_march["lines"]) == ("0.00", [])
    county_april = await _statement(client, auditor_headers, "F990102-BASIC", "2026-04")
    assert (county_april["fund_own_amt"], county_april["lines"]) == ("0.00", [])
    province_april = await _statement(client, auditor_headers, BASIC, "2026-04")
    [line] = province_april["lines"]  # type: ignore[misc]
    assert (line["kind"], line["settlement_id"], line["fund_own_amt"]) == (
        "reversal",
        march,
        "-500.00",
    )
    county_now = await _statement(client, auditor_headers, "F990102-BASIC", this_month)
    assert [x["settlement_id"] for x in county_now["lines"]] == [later]  # type: ignore[attr-defined]
    province_now = await _statement(client, auditor_headers, BASIC, this_month)
    assert province_now["lines"] == []


async def test_a_fund_covers_a_whole_province_prefecture_or_county(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"code": "F50-AID", "fund_type": "medical_aid", "name": "重庆市医疗救助基金",
            "owner": "重庆市医疗保障局"}  # fmt: skip
    for slice_ in ("500", "50011"):
        refused = await client.post(
            "/v1/clearing/funds", json={**body, "region_code": slice_}, headers=admin_headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "region_code"
    listed = await client.get("/v1/clearing/funds", headers=admin_headers)
    assert "F50-AID" not in [f["code"] for f in listed.json()]
    for whole in ("50", "5001", "500112"):
        made = await client.post(
            "/v1/clearing/funds",
            json={**body, "code": f"F{whole}-AID", "region_code": whole},
            headers=admin_headers,
        )
        assert made.status_code == 201, made.text


async def test_export_has_chinese_headers_and_no_formulas(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    await ledger.settle(at(2026, 3, 5), basic=500_00, visit_id="=HYPERLINK(1)")
    closed = await _close(client, auditor_headers, BASIC, "2026-03")
    url = f"/v1/clearing/statements/{closed['id']}/export"
    got = await client.get(url, params={"format": "csv"}, headers=auditor_headers)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["基金编码", "医院编码", "清算期", "医疗费总额"]
    assert rows[1][5] == "500.00"
    assert rows[3][0] == "类型"
    assert rows[4][3] == "'=HYPERLINK(1)"
    book = await client.get(url, headers=auditor_headers)
    sheet = load_workbook(io.BytesIO(book.content))["清算明细"]
    assert sheet.cell(1, 4).value == "就诊号"
    # XLSX keeps the text as it is, in a string cell: never a formula
    assert (sheet.cell(2, 4).value, sheet.cell(2, 4).data_type) == ("=HYPERLINK(1)", "s")
    assert_amount_cell(sheet.cell(2, 12), "500.00")


async def test_export_quotes_the_hospitals_text_and_keeps_amounts_numbers(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    """The HIS settlement id is the hospital's text, whatever it looks like: a formula is
    quoted, and so is text that reads as a negative number (the ledger's export quotes it too);
    the amounts are the statement's own numbers, a reversal's negative ones bare. Commas,
    semicolons and quotes in a cell come back from a CSV reader as they were sent."""
    ledger = Ledger(app)
    formula, number_like, punctuated = '=HYPERLINK("http://x")', "-12.30", 'a,b;"c"'
    await ledger.settle(at(2026, 3, 5), basic=500_00, his_settlement_id=formula)
    reversed_one = await ledger.settle(at(2026, 3, 6), basic=12_30, his_settlement_id=number_like)
    await ledger.reverse(reversed_one, at(2026, 3, 7))
    await ledger.settle(at(2026, 3, 8), basic=1_00, his_settlement_id=punctuated)
    closed = await _close(client, auditor_headers, BASIC, "2026-03")
    url = f"/v1/clearing/statements/{closed['id']}/export"
    got = await client.get(url, params={"format": "csv"}, headers=auditor_headers)
    assert got.status_code == 200, got.text
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    lines = {(row[0], row[4]): row for row in rows[4:]}
    assert set(lines) == {
        ("结算", "'" + formula),
        ("结算", "'" + number_like),
        ("冲销", "'" + number_like),
        ("结算", punctuated),
    }
    reversal = lines[("冲销", "'" + number_like)]
    assert reversal[11] == "-12.30"  # 本基金支付: a number, not quoted
    assert lines[("结算", "'" + number_like)][11] == "12.30"
    assert rows[1][5] == "501.00"
    # XLSX: the amounts are number cells a spreadsheet sums (the reversal's negative), the
    # number-like HIS id a string cell
    book = load_workbook(io.BytesIO((await client.get(url, headers=auditor_headers)).content))
    detail = {(r[0].value, r[4].value): r for r in book["清算明细"].iter_rows(min_row=2)}
    assert detail[("冲销", number_like)][4].data_type == "s"
    assert_amount_cell(detail[("冲销", number_like)][11], "-12.30")
    assert_amount_cell(book["清算汇总"].cell(2, 6), "501.00")


def assert_amount_cell(cell: Any, yuan: str) -> None:
    """A number cell shown with two decimals, holding exactly the amount."""
    assert cell.data_type == "n", (cell.value, cell.data_type)
    assert (Decimal(str(cell.value)), cell.number_format) == (Decimal(yuan), "0.00")


async def test_fund_keys_reach_neither_the_ledger_nor_the_receivables(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    assert (await client.get("/v1/violations", headers=fund)).status_code == 403
    assert (await client.get("/v1/receivables/overdue", headers=fund)).status_code == 403
    # The console lets a fund key in, to its own clearing page only
    # (tests/console/test_console_access.py).
    login = await client.post(
        "/console/login",
        data={"api_key": fund["X-API-Key"]},
        headers={"Origin": "http://testserver"},
    )
    assert (login.status_code, login.headers["location"]) == (303, "/console/clearing")


async def test_closing_a_closed_month_again_is_answered_as_a_replay(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    await Ledger(app).settle(at(2026, 1, 5), basic=100_00)
    url = "/v1/clearing/statements"
    first = await client.post(url, json=_q(BASIC, "2026-01"), headers=fund)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await client.post(url, json=_q(BASIC, "2026-01"), headers=fund)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]


async def test_a_month_to_come_is_refused_naming_the_period_and_this_month_reads(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    now = today()
    this_month = f"{now.year:04d}-{now.month:02d}"
    next_month = f"{now.year + now.month // 12:04d}-{now.month % 12 + 1:02d}"

    current = await client.get(
        "/v1/clearing/statement", params=_q(BASIC, this_month), headers=auditor_headers
    )
    refused = [
        await client.get("/v1/clearing/statement", params=_q(BASIC, p), headers=auditor_headers)
        for p in (next_month, "2999-01")
    ]

    assert current.status_code == 200, current.text
    assert current.json()["status"] == "open"
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "period_not_begun"
        assert [e["field"] for e in answer.json()["errors"]] == ["period"]
