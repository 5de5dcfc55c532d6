"""CSV and XLSX exports of a ledger query or of the scoreboard, with Chinese headers.

Rows are read a keyset batch at a time in a session of their own (the request's session has
committed by the time a streamed body is sent). CSV is sent as it is produced; XLSX is written
by openpyxl's write-only workbook to a spooled temporary file (a zip needs its directory at
the end) and then sent in chunks. Persons appear only in masked form, ID numbers typed into
free text too (service/idtext.py), and no text cell can run as a formula (service/cells.py).

Nothing is sent before the first rows are read (`response` takes the first chunk before the
status line): a query that fails at once is a problem response, not a 200 with an empty file.
A CSV that fails later ends with a line that says so, and the failure is logged.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell

from service.auth import Principal
from service.base import utcnow
from service.cells import inert
from service.china_time import CHINA_TZ
from service.idtext import mask_resident_ids
from service.observability import request_id_var
from service.violations.labels import (
    RULE_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    label,
)
from service.violations.query import Sort, ViolationRow, iter_violations
from service.violations.schemas import Scoreboard, points_of
from service.violations.scope import ViolationFilter

VIOLATION_HEADERS = (
    "编号", "发现时间", "县区编码", "医院编码", "问题类型", "规则编码", "严重程度",
    "就诊号", "人员(脱敏)", "扣分", "状态", "状态变更时间", "来源",
)  # fmt: skip
VIOLATION_WIDTHS = (8, 18, 10, 12, 20, 26, 8, 18, 20, 8, 8, 18, 10)
SCORE_HEADERS = (
    "层级", "排名", "编码", "名称", "所属县区", "扣分合计", "问题人次", "按问题类型", "按状态",
)  # fmt: skip
SCORE_WIDTHS = (6, 6, 12, 24, 10, 10, 10, 40, 30)
ExportFormat = Literal["csv", "xlsx"]
FAILED_MARK = "# 导出失败 EXPORT FAILED"
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger("settlecheck.export")
# Cells are typed (datetimes, Decimals): a spreadsheet sorts and sums them as dates and numbers.
Cell = str | int | Decimal | datetime | None


def _local(value: datetime) -> datetime:
    return value.astimezone(CHINA_TZ)


def caption(title: str, wanted: ViolationFilter, *, now: datetime) -> str:
    """The sheet's first row: what was exported, with which filters, and when."""
    asked = [
        f"{name} {value}"
        for name, value in (
            ("地区", wanted.region),
            ("医院", wanted.hospital_code),
            ("问题类型", label(RULE_LABELS, wanted.rule_code) if wanted.rule_code else None),
            ("状态", label(STATUS_LABELS, wanted.status) if wanted.status else None),
            ("严重程度", label(SEVERITY_LABELS, wanted.severity) if wanted.severity else None),
            ("就诊号", wanted.visit_id),
        )
        if value
    ]
    if wanted.detected_from or wanted.detected_to:
        since, until = wanted.detected_from or "最早", wanted.detected_to or "今"
        asked.append(f"业务日期 {since} 至 {until}")
    filters = "，".join(asked) if asked else "全部（您可查看的范围）"
    return f"{title} · 筛选：{filters} · 导出于 {_local(now):%Y-%m-%d %H:%M}（北京时间）"


def violation_row(v: ViolationRow) -> list[Cell]:
    return [
        v.id, _local(v.detected_at), v.county_code, v.hospital_code,
        label(RULE_LABELS, v.rule_code), v.rule_code, label(SEVERITY_LABELS, v.severity),
        mask_resident_ids(v.visit_id or ""), v.person_masked or "",
        points_of(v.points_hundredths),
        label(STATUS_LABELS, v.status), _local(v.status_changed_at), label(SOURCE_LABELS, v.source),
    ]  # fmt: skip


def scoreboard_rows(board: Scoreboard) -> list[list[Cell]]:
    def _counts(d: dict[str, int], labels: dict[str, str]) -> str:
        return "；".join(f"{label(labels, k)} {n}" for k, n in d.items())

    rows: list[list[Cell]] = []
    for level, items in (("县区", board.counties), ("医院", board.hospitals)):
        for r in items:
            rows.append(
                [level, r.rank, r.code, r.name, r.county_code, r.points, r.count,
                 _counts(r.by_rule, RULE_LABELS), _counts(r.by_status, STATUS_LABELS)]
            )  # fmt: skip
    return rows


async def violation_rows(
    maker: async_sessionmaker[AsyncSession],
    *,
    principal: Principal,
    wanted: ViolationFilter,
    sort: Sort,
) -> AsyncIterator[list[Cell]]:
    async with maker() as session:
        async for v in iter_violations(session, principal=principal, wanted=wanted, sort=sort):
            yield violation_row(v)


def _csv_cell(value: Cell) -> str | int:
    """Numbers and dates as their text; text made inert (a number's minus sign is a sign)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return inert(value)
    return "" if value is None else value


def _taken(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


async def csv_stream(
    headers: Sequence[str], rows: AsyncIterator[list[Cell]], *, flush_every: int = 500
) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM, so spreadsheet programs read the Chinese headers right. The first
    chunk holds the headers and the first rows; a failure after it is the file's last line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([inert(h) for h in headers])
    n, sent = 0, False
    try:
        async for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
            n += 1
            if n % flush_every == 0:
                yield _taken(buffer)
                sent = True
    except Exception:
        if not sent:
            raise  # nothing sent yet: `response` turns it into a problem response
        log.exception("export failed after %d rows", n)
        rid = request_id_var.get() or "-"
        writer.writerow([f"{FAILED_MARK}: the file ends after {n} rows; request id {rid}"])
    yield _taken(buffer)


async def xlsx_stream(
    sheet_title: str,
    caption: str,
    headers: Sequence[str],
    widths: Sequence[int],
    rows: AsyncIterator[list[Cell]],
    *,
    chunk: int = 64 * 1024,
) -> AsyncIterator[bytes]:
    """A sheet for people: a caption row saying what was exported and when, a bold header that
    stays in view, a filter on every column, widths that fit, dates as dates and numbers as
    numbers. openpyxl's write-only mode keeps memory flat; the file is spooled to disk."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A3"
    cells = _Cells(sheet)
    sheet.append([cells.styled(caption)])
    sheet.append([cells.styled(h, fill=True) for h in headers])
    count = 0
    async for row in rows:
        sheet.append([cells.typed(v) for v in row])
        count += 1
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(headers))}{count + 2}"
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as file:
        workbook.save(file)
        file.seek(0)
        while data := file.read(chunk):
            yield data


class _Cells:
    """Typed cells of one write-only sheet. openpyxl is imported here, when a sheet is made:
    a worker that never exports does not carry it (about 6 MB, docs/benchmarks.md)."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font, PatternFill

        self._sheet = sheet
        self._cell = WriteOnlyCell
        self._bold = Font(bold=True)
        self._header_fill = PatternFill("solid", fgColor="DDEBF7")

    def text(self, value: str) -> WriteOnlyCell:
        """Text as text: openpyxl would store a string starting with "=" as a formula."""
        cell = self._cell(self._sheet, value=value)
        cell.data_type = "s"
        return cell

    def styled(self, value: str, *, fill: bool = False) -> WriteOnlyCell:
        cell = self.text(value)
        cell.font = self._bold
        if fill:
            cell.fill = self._header_fill
        return cell

    def typed(self, value: Cell) -> Any:
        if isinstance(value, datetime):
            cell = self._cell(self._sheet, value=value.replace(tzinfo=None))  # China time
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
            return cell
        if isinstance(value, Decimal):
            cell = self._cell(self._sheet, value=value)
            cell.number_format = "0.00"
            return cell
        if isinstance(value, str):
            return self.text(value)
        return value


async def listed(rows: list[list[Cell]]) -> AsyncIterator[list[Cell]]:
    for row in rows:
        yield row


def disposition(stem: str, extension: str) -> str:
    return f'attachment; filename="{stem}.{extension}"'


async def response(
    fmt: str,
    title: str,
    headers: Sequence[str],
    rows: AsyncIterator[list[Cell]],
    *,
    stem: str,
    caption: str = "",
    widths: Sequence[int] = (),
) -> StreamingResponse:
    """A streamed CSV or XLSX download of these rows, started only once its first chunk is
    ready (an XLSX is complete by then)."""
    if fmt == "xlsx":
        body = xlsx_stream(title, caption or title, headers, widths, rows)
        media = XLSX_MEDIA
    else:
        body, media = csv_stream(headers, rows), CSV_MEDIA
    first = await anext(body)
    return StreamingResponse(
        _resumed(first, body),
        media_type=media,
        headers={"content-disposition": disposition(stem, fmt)},
    )


async def _resumed(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


async def ledger_download(
    fmt: str,
    maker: async_sessionmaker[AsyncSession],
    *,
    principal: Principal,
    wanted: ViolationFilter,
    sort: Sort,
) -> StreamingResponse:
    """问题台账: the ledger query as a download, the same for the API and the console."""
    rows = violation_rows(maker, principal=principal, wanted=wanted, sort=sort)
    return await response(
        fmt,
        "问题台账",
        VIOLATION_HEADERS,
        rows,
        stem="violations",
        caption=caption("问题台账", wanted, now=utcnow()),
        widths=VIOLATION_WIDTHS,
    )


async def scoreboard_download(
    fmt: str, board: Scoreboard, *, wanted: ViolationFilter
) -> StreamingResponse:
    """考核扣分: the scoreboard as a download, the same for the API and the console."""
    return await response(
        fmt,
        "考核扣分",
        SCORE_HEADERS,
        listed(scoreboard_rows(board)),
        stem="scoreboard",
        caption=caption("考核扣分", wanted, now=utcnow()),
        widths=SCORE_WIDTHS,
    )
