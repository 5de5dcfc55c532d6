"""对账: the fund's detail file against our statement; bad files name every bad line."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import httpx
from fastapi import FastAPI
from openpyxl import Workbook

from service.clearing import detail_file
from service.clearing.models import ClearingReconciliation
from service.idtext import mask_resident_ids
from tests import factories
from tests.factories import KeyFactory, Ledger, at

PARAMS = {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
          "period": "2026-03"}  # fmt: skip


async def _upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    name: str = "f.csv",
    *,
    zh: bool = False,
) -> httpx.Response:
    return await client.post(
        "/v1/clearing/reconciliation",
        params=PARAMS,
        files={"file": (name, content)},
        headers={**headers, "Accept-Language": "zh-CN"} if zh else headers,
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


async def test_a_visit_id_holding_a_resident_id_number_is_a_bad_cell_never_stored(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # A visit id is an identifier (service/idtext.py): the fund's file is refused as the JSON
    # API refuses one, so the number is neither stored in the kept answer nor shown back.
    number = factories.resident_id()
    settled = await Ledger(app).settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    text = (
        "settlement_id,visit_id,amount\n"
        f"{settled},VA,100.00\n998,{number},5\n999,V-{number[:6]}-{number[6:14]}-{number[14:]},5\n"
        f"{number},V5,5\n"  # columns swapped: an 18-digit number is a plausible row id
    )
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_detail_file"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("line 3: visit_id", "resident_id_in_text"),
        ("line 4: visit_id", "resident_id_in_text"),
        ("line 5: settlement_id", "resident_id_in_text"),
    ]
    assert number not in response.text
    assert number[6:14] not in response.text
    listed = await client.get("/v1/clearing/reconciliations", headers=auditor_headers)
    assert listed.json() == []


async def test_a_kept_reconciliation_holding_a_resident_id_number_is_shown_masked(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    # Answers kept before visit ids were refused may hold a number in full (theirs only, or
    # the fund's visit id of a mismatch): every reader sees it masked.
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    number = factories.resident_id()
    settled = await Ledger(app).settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    text = f"settlement_id,visit_id,amount\n{settled},VTHEIRS,100.00\n999,VONLY,5\n"
    response = await _upload(client, fund, text.encode())
    assert response.status_code == 201, response.text
    kept = response.json()["id"]
    async with app.state.sessionmaker() as s:
        row = await s.get(ClearingReconciliation, kept)
        assert row is not None
        old = json.dumps(row.result).replace("VTHEIRS", f"V{number}").replace("VONLY", number)
        row.result = json.loads(old)
        await s.commit()
    masked = mask_resident_ids(number)
    for headers in (hospital_headers, auditor_headers, fund, admin_headers):
        listed = await client.get("/v1/clearing/reconciliations", headers=headers, params=PARAMS)
        one = await client.get(f"/v1/clearing/reconciliations/{kept}", headers=headers)
        for shown, got in ((listed, listed.json()[0]), (one, one.json())):
            assert shown.status_code == 200, shown.text
            assert number not in shown.text
            assert got["theirs_only"][0]["visit_id"] == masked
            assert got["mismatched"][0]["their_visit_id"] == f"V{masked}"


async def test_an_amount_not_written_plainly_is_a_bad_cell_as_in_the_api(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # Decimal() reads "1e3" as 1000 and "+5", " 5" as 5; the JSON API refuses them
    # (service/money.py, amount_not_plain), and so does the fund's file.
    # "-0.00" is a float printed a little below zero, a sign on a nothing.
    cells = ["1e3", "+5", " 5", "5 ", ".5", "5.", "1.2E4", "NaN", "Infinity", "", "-0.00"]
    text = "settlement_id,visit_id,amount\n" + "".join(
        f'{n},V{n},"{cell}"\n' for n, cell in enumerate(cells, start=1)
    )
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        (f"line {n}: amount", "amount_not_plain") for n in range(2, len(cells) + 2)
    ]
    zh = await _upload(client, auditor_headers, text.encode(), zh=True)
    assert zh.json()["errors"][0]["message"].startswith("金额须写成普通小数")


async def test_an_xlsx_number_cell_is_a_number_and_a_text_cell_is_read_as_text(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    a = await ledger.settle(at(2026, 3, 2), basic=100_00, visit_id="VA")
    b = await ledger.settle(at(2026, 3, 3), basic=250_50, visit_id="VB")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["settlement_id", "visit_id", "amount"])
    sheet.append([a, "VA", 100.0])  # a float cell: a number, as a JSON number is
    sheet.append([b, "VB", 250.5])
    out = io.BytesIO()
    book.save(out)
    response = await _upload(client, auditor_headers, out.getvalue(), "f.xlsx")
    assert response.status_code == 201, response.text
    assert response.json()["balanced"] is True
    sheet.append([3, "VC", "1e3"])  # a text cell: written as text, read by the API's rule
    sheet.append([4, "VD", True])
    out = io.BytesIO()
    book.save(out)
    refused = await _upload(client, auditor_headers, out.getvalue(), "f.xlsx")
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("line 4: amount", "amount_not_plain"),
        ("line 5: amount", "invalid_line"),
    ]


async def test_a_settlement_listed_twice_is_a_bad_line_naming_both(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # Summed, the repeat read as 10.00 where the fund paid 5.00 once: one line per settlement.
    ledger = Ledger(app)
    a = await ledger.settle(at(2026, 3, 2), basic=5_00, visit_id="VA")
    text = f"settlement_id,visit_id,amount\n{a},VA,5\n{a},VA,5\n"
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["line 3: settlement_id"]
    assert "line 2" in errors[0]["message"]
    reversal = f"settlement_id,visit_id,amount\n{a},VA,-5\n{a},VA,-5.00\n"
    twice = await _upload(client, auditor_headers, reversal.encode())
    assert [e["field"] for e in twice.json()["errors"]] == ["line 3: settlement_id"]


async def test_a_settlement_and_its_reversal_are_two_lines_of_one_settlement(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # Our statement lists a settlement reversed in its own month twice (+ and -), and so may
    # the fund's file: those two lines net to zero on both sides (docs/clearing.md).
    ledger = Ledger(app)
    a = await ledger.settle(at(2026, 3, 2), basic=5_00, visit_id="VA")
    await ledger.reverse(a, at(2026, 3, 3))
    text = f"settlement_id,visit_id,amount\n{a},VA,5.00\n{a},VA,-5.00\n"
    response = await _upload(client, auditor_headers, text.encode())
    assert response.status_code == 201, response.text
    assert response.json()["balanced"] is True
    assert response.json()["theirs_total"] == "0.00"


def _workbook_unpacking_to(*, shared_strings: int = 0, gap: int = 0) -> bytes:
    """A valid one-line detail workbook that unpacks far beyond its upload: repeated shared
    strings (compressing ~1000-fold), or the line `gap` rows below the header."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["settlement_id", "visit_id", "amount"])
    for column, value in enumerate((1, "VA", 100), start=1):
        sheet.cell(row=2 + gap, column=column, value=value)
    plain = io.BytesIO()
    book.save(plain)
    if not shared_strings:
        return plain.getvalue()
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            bomb.writestr(member, data)
        one = b"<si><t>" + b"A" * 1000 + b"</t></si>"
        bomb.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + one * shared_strings
            + b"</sst>",
        )
    return out.getvalue()


async def test_a_workbook_that_unpacks_far_beyond_its_upload_is_refused_before_it_is_read(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # ~40 MB of shared strings in ~50 kB: openpyxl kept them all (660 kB grew a worker by
    # 340 MB and held its event loop 8 s); 250,000 empty rows before the line, in 5 kB, were
    # all read.
    for bomb in (
        _workbook_unpacking_to(shared_strings=40_000),
        _workbook_unpacking_to(gap=250_000),
    ):
        assert len(bomb) < 200_000
        response = await _upload(client, auditor_headers, bomb, "f.xlsx")
        assert response.status_code == 422, response.text[:300]
        problem = response.json()
        assert problem["code"] == "invalid_detail_file"
        assert problem["errors"][0]["field"].endswith(": file")


def test_a_cell_far_to_the_right_does_not_widen_every_row_read() -> None:
    # openpyxl fills the rows between two with empty cells as wide as the widest row: one cell
    # in column XFD made each of 40,000 rows 16,384 cells (21 s for a 5 kB file).
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["settlement_id", "visit_id", "amount"])
    sheet.cell(row=3, column=16_384, value="far")
    sheet.cell(row=2_000, column=1, value=1)
    out = io.BytesIO()
    book.save(out)
    widths = {len(values) for _, values in detail_file.rows(out.getvalue())}
    assert max(widths) < 100  # the three columns and some beside them, not 16,384
