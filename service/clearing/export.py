"""A closed statement as CSV or XLSX with Chinese headers (清算单导出).

In CSV every text cell that a spreadsheet would read as a formula goes through
`service.cells.inert` (a leading apostrophe, OWASP's CSV injection advice). The amounts are
the statement's own numbers: in their columns they are written as they are, "-12.50" a
negative adjustment a spreadsheet sums. Any other cell is text, however it looks: a HIS
settlement id "-12.50" is the hospital's text and quoted as any other. In XLSX the amounts
are number cells shown with two decimals (a fund's accountant sums them), and every other text
cell is typed as a string, so it is never a formula. Statements are small (one hospital, one
month), so both are built in memory.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any, Literal

from fastapi import Response

from service.cells import inert
from service.china_time import CHINA_TZ
from service.clearing.schemas import StatementPublic

ExportFormat = Literal["csv", "xlsx"]
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY_HEADERS = (
    "基金编码", "医院编码", "清算期", "医疗费总额", "基金支付总额", "本基金支付",
    "个人现金支付", "结算笔数", "已拨付", "未拨付", "校验值",
)  # fmt: skip
LINE_HEADERS = (
    "类型", "结算号", "冲销号", "就诊号", "HIS结算号", "人员(脱敏)", "发生时间", "所属期",
    "调整", "医疗费总额", "基金支付总额", "本基金支付", "个人现金支付",
)  # fmt: skip
KIND_LABELS = {"settlement": "结算", "reversal": "冲销"}
# The columns that hold the statement's amounts (yuan as "-12.30", written by us, never a
# caller's text): the only text a CSV writes bare.
_AMOUNT_HEADERS = {"医疗费总额", "基金支付总额", "本基金支付", "个人现金支付", "已拨付", "未拨付"}
SUMMARY_AMOUNTS = frozenset(i for i, h in enumerate(SUMMARY_HEADERS) if h in _AMOUNT_HEADERS)
LINE_AMOUNTS = frozenset(i for i, h in enumerate(LINE_HEADERS) if h in _AMOUNT_HEADERS)
_AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")


def safe_row(row: list[Any], amounts: frozenset[int]) -> list[Any]:
    """A CSV row as a spreadsheet will not run it: text inert, the amounts' columns bare."""
    return [v if i in amounts and _is_amount(v) else inert(v) for i, v in enumerate(row)]


def _is_amount(value: Any) -> bool:
    return isinstance(value, str) and _AMOUNT.fullmatch(value) is not None


def _append_row(sheet: Any, row: list[Any], amounts: frozenset[int]) -> None:
    """Append a row whose amounts are numbers and whose other text cells are string cells:
    openpyxl would store a string that starts with "=" as a formula."""
    sheet.append([Decimal(v) if i in amounts and _is_amount(v) else v for i, v in enumerate(row)])
    for i, cell in enumerate(sheet[sheet.max_row]):
        if isinstance(cell.value, str):
            cell.data_type = "s"
        elif i in amounts and isinstance(cell.value, Decimal | float):
            cell.number_format = "0.00"


def summary_row(s: StatementPublic) -> list[Any]:
    return [
        s.fund_code, s.hospital_code, s.period, s.medfee_sumamt, s.fund_pay_sumamt,
        s.fund_own_amt, s.psn_cash_pay, s.setl_cnt, s.paid, s.outstanding,
        s.content_hash or "",
    ]  # fmt: skip


def line_rows(s: StatementPublic) -> list[list[Any]]:
    return [
        [
            KIND_LABELS[x.kind], x.settlement_id, x.reversal_id or "", x.visit_id,
            x.his_settlement_id, x.person_masked,
            x.dated_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"), x.period,
            "是" if x.adjustment else "否", x.medfee_sumamt, x.fund_pay_sumamt,
            x.fund_own_amt, x.psn_cash_pay,
        ]
        for x in s.lines
    ]  # fmt: skip


def to_csv(s: StatementPublic) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row([*SUMMARY_HEADERS], frozenset()))
    writer.writerow(safe_row(summary_row(s), SUMMARY_AMOUNTS))
    writer.writerow([])
    writer.writerow(safe_row([*LINE_HEADERS], frozenset()))
    for row in line_rows(s):
        writer.writerow(safe_row(row, LINE_AMOUNTS))
    # A BOM so that Excel opens the Chinese headers as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(s: StatementPublic) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "清算汇总"
    _append_row(summary, list(SUMMARY_HEADERS), frozenset())
    _append_row(summary, summary_row(s), SUMMARY_AMOUNTS)
    detail = book.create_sheet("清算明细")
    _append_row(detail, list(LINE_HEADERS), frozenset())
    for row in line_rows(s):
        _append_row(detail, row, LINE_AMOUNTS)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(statement: StatementPublic, fmt: ExportFormat) -> Response:
    """The statement as the file the API and the console's clearing page both give."""
    name = f"clearing-{statement.fund_code}-{statement.hospital_code}-{statement.period}"
    if fmt == "csv":
        body, media = to_csv(statement), CSV_MEDIA
    else:
        body, media = to_xlsx(statement), XLSX_MEDIA
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(content=body, media_type=media, headers=headers)
