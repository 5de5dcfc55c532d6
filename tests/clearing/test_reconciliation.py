"""对账: the fund's detail file against our statement; bad files name every bad line."""

from __future__ import annotations

import hashlib
import io

import httpx
from fastapi import FastAPI
from openpyxl import Workbook

from tests import factories
from tests.factories import KeyFactory, Ledger, at

PARAMS = {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
          "period": "2026-03"}  # fmt: skip


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, name: str = "f.csv"
) -> httpx.Response:
    return await client.post(
        "/v1/clearing/reconciliation",
        params=PARAMS,
        files={"file": (name, content)},
        headers=headers,
    )


async def test_matched_ours_only_theirs_only_and_mismatches_with_totals(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    ledger = Ledger(app)
    a = await ledger.settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    b = await ledger.settle(at(2026, 3, 3), basic=200_00, visit_id="VB")
    c = await ledger.settle(at(2026, 3, 4), basic=300_00, visit_id="VC")
    text = f"结算号,就诊号,金额\n{a},VA,100.00\n{b},VB,250.00\n999,VX,5\n"
    response = await _upload(client, fund, ("\ufeff" + text).encode())
    assert response.status_code == 201, response.text
    got = response.json()
    assert [x["settlement_id"] for x in got["matched"]] == [a]
    assert [(x["settlement_id"], x["difference"]) for x in got["mismatched"]] == [(b, "50.00")]
    assert [x["settlement_id"] for x in got["ours_only"]] == [c]
    assert [x["settlement_id"] for x in got["theirs_only"]] == [999]
    assert (got["ours_total"], got["theirs_total"], got["difference"]) == (
        "600.00",
        "355.00",
        "-245.00",
    )
    assert got["balanced"] is False

    # (a) The answer is kept: the fund reads it again, as answered, after the statement moved.
    assert response.headers["location"] == f"/v1/clearing/reconciliations/{got['id']}"
    await ledger.settle(at(2026, 3, 5), basic=400_00, visit_id="VD")
    again = await client.get(response.headers["location"], headers=fund)
    assert again.status_code == 200, again.text
    assert again.json() == got
    listed = await client.get("/v1/clearing/reconciliations", params=PARAMS, headers=fund)
    assert [x["id"] for x in listed.json()] == [got["id"]]
    assert got["file_sha256"] == hashlib.sha256(("\ufeff" + text).encode()).hexdigest()
    assert got["statement_hash"] is None  # compared with the open statement


async def test_a_stored_reconciliation_is_the_funds_own(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    other_fund = await make_key("fund", region_prefix="99", fund_code="F99-CRITICAL")
    other_region = await make_key("auditor", region_prefix="9902")
    hospital = await make_key("hospital", hospital_code=factories.COUNTY_HOSPITAL)
    ledger = Ledger(app)
    a = await ledger.settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    response = await _upload(client, fund, f"结算号,就诊号,金额\n{a},VA,100.00\n".encode())
    assert response.status_code == 201, response.text
    assert response.json()["balanced"] is True
    url = response.headers["location"]
    for outsider in (other_fund, other_region):
        answer = await client.get(url, headers=outsider)
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "reconciliation_not_found"
        listed = await client.get("/v1/clearing/reconciliations", headers=outsider)
        assert listed.json() == []
    # The hospital reads what its fund reconciled (its own hospital's figures).
    assert (await client.get(url, headers=hospital)).status_code == 200


async def test_an_xlsx_file_that_agrees_is_balanced(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    a = await ledger.settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["settlement_id", "visit_id", "amount"])
    sheet.append([a, "VA", 100])
    out = io.BytesIO()
    book.save(out)
    response = await _upload(client, auditor_headers, out.getvalue(), "f.xlsx")
    assert response.status_code == 201, response.text
    assert response.json()["balanced"] is True


async def test_a_bad_file_names_every_bad_line_and_compares_nothing(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    text = "settlement_id,visit_id,amount\nabc,V1,1.00\n5,,1.001\n6,V6,1e999999\n"
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_detail_file"
    fields = [e["field"] for e in problem["errors"]]
    assert fields == [
        "line 2: settlement_id",
        "line 3: visit_id",
        "line 3: amount",
        "line 4: amount",
    ]
    header = await _upload(client, auditor_headers, b"id,amount\n1,2\n")
    assert [e["field"] for e in header.json()["errors"]] == [
        "line 1: settlement_id",
        "line 1: visit_id",
    ]
    for junk in (b"", b"PK\x03\x04garbage", b"\xff\xfe\x00\x81\x00"):
        bad = await _upload(client, auditor_headers, junk)
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_detail_file")


async def test_hospitals_do_not_upload_and_funds_only_their_own(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], make_key: KeyFactory
) -> None:
    other = await make_key("fund", region_prefix="99", fund_code="F99-AID")
    refused = await _upload(client, hospital_headers, b"settlement_id,visit_id,amount\n")
    assert refused.status_code == 403
    hidden = await _upload(client, other, b"settlement_id,visit_id,amount\n")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "fund_not_found")


async def test_a_superscript_id_or_an_amount_in_other_digits_is_a_bad_line_not_a_500(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # "²" is a digit to str.isdigit() and not to int(); Decimal() reads "١٠٠" as 100 and
    # "1_000" as 1000, figures the fund's file did not write (amounts: ASCII, service/money.py).
    text = "settlement_id,visit_id,amount\n²,V1,1.00\n⁵,V2,1.00\n3,V3,١٠٠.00\n4,V4,1_000\n"
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_detail_file"
    assert [e["field"] for e in response.json()["errors"]] == [
        "line 2: settlement_id",
        "line 3: settlement_id",
        "line 4: amount",
        "line 5: amount",
    ]


async def test_a_file_whose_stray_quote_swallows_the_rest_is_a_bad_line_not_a_500(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # An opening quote never closed: the csv reader reads the rest as one field, past its limit.
    text = 'settlement_id,visit_id,amount\n1,"V1,2.00\n' + "2,V2,1.00\n" * 20_000
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_detail_file"
    assert [e["field"] for e in response.json()["errors"]] == ["line 2: file"]


async def test_a_visit_id_with_a_control_character_is_a_bad_line(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    settled = await Ledger(app).settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    text = f"settlement_id,visit_id,amount\n{settled},V\x00A,100.00\n"
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["line 2: visit_id"]
