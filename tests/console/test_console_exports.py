"""The console's downloads are the API's: same title row, headers and column widths."""

from __future__ import annotations

import io

from fastapi import FastAPI
from openpyxl import load_workbook

from tests import factories as f


async def test_the_console_ledger_xlsx_has_the_apis_title_row_and_headers(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    await f.book(app.state.sessionmaker, f.finding(visit_id="V1"))
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, auditor_headers["X-API-Key"])
        params = {"status": "open"}
        console = await browser.get("/console/violations/export.xlsx", params=params)
        api = await browser.get(
            "/v1/violations/export.xlsx", params=params, headers=auditor_headers
        )
    sheets = [load_workbook(io.BytesIO(r.content)).active for r in (console, api)]
    rows = [[list(r) for r in s.iter_rows(max_row=3, values_only=True)] for s in sheets]
    assert rows[0][0][0].startswith("问题台账 · 筛选：状态 ")
    assert rows[0][1:] == rows[1][1:]  # headers and the one finding
    assert rows[0][0][0].split(" · 导出于")[0] == rows[1][0][0].split(" · 导出于")[0]
    widths = [[s.column_dimensions[c].width for c in "ABC"] for s in sheets]
    assert widths[0] == widths[1]
