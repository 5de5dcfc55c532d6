"""CSV and XLSX exports of a ledger query or of the scoreboard, with Chinese headers.

Rows are read a keyset batch at a time in a session of their own (the request's session has
committed by the time a streamed body is sent). CSV is sent as it is produced; XLSX is written
by openpyxl's write-only workbook to a spooled temporary file (a zip needs its directory at
the end) and then sent in chunks. Persons appear only in masked form.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal
from service.violations.query import Sort, ViolationRow, iter_violations
from service.violations.schemas import Scoreboard, points_of
from service.violations.scope import CHINA_TZ, ViolationFilter

STATUS_LABELS = {
    "open": "待整改",
    "rectifying": "整改中",
    "rectified": "已整改",
    "verified": "已销号",
}
VIOLATION_HEADERS = (
    "编号", "发现时间", "县区编码", "医院编码", "规则编码", "严重程度",
    "就诊号", "人员(脱敏)", "扣分", "状态", "状态变更时间", "来源",
)  # fmt: skip
SCORE_HEADERS = (
    "层级", "排名", "编码", "名称", "所属县区", "扣分合计", "问题人次", "按规则", "按状态",
)  # fmt: skip
ExportFormat = Literal["csv", "xlsx"]
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _local(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def violation_row(v: ViolationRow) -> list[Any]:
    return [
        v.id, _local(v.detected_at), v.county_code, v.hospital_code, v.rule_code, v.severity,
        v.visit_id or "", v.person_masked or "", str(points_of(v.points_hundredths)),
        STATUS_LABELS.get(v.status, v.status), _local(v.status_changed_at), v.source,
    ]  # fmt: skip


def scoreboard_rows(board: Scoreboard) -> list[list[Any]]:
    def _counts(d: dict[str, int], labels: dict[str, str] | None = None) -> str:
        return "; ".join(f"{(labels or {}).get(k, k)}:{n}" for k, n in d.items())

    rows = []
    for level, items in (("县区", board.counties), ("医院", board.hospitals)):
        for r in items:
            rows.append(
                [level, r.rank, r.code, r.name, r.county_code, str(r.points), r.count,
                 _counts(r.by_rule), _counts(r.by_status, STATUS_LABELS)]
            )  # fmt: skip
    return rows


async def violation_rows(
    maker: async_sessionmaker[AsyncSession],
    *,
    principal: Principal,
    wanted: ViolationFilter,
    sort: Sort,
) -> AsyncIterator[list[Any]]:
    async with maker() as session:
        async for v in iter_violations(session, principal=principal, wanted=wanted, sort=sort):
            yield violation_row(v)


async def csv_stream(
    headers: Sequence[str], rows: AsyncIterator[list[Any]], *, flush_every: int = 500
) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM, so spreadsheet programs read the Chinese headers right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0)
    buffer.truncate()
    n = 0
    async for row in rows:
        writer.writerow(row)
        n += 1
        if n % flush_every == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def xlsx_stream(
    title: str, headers: Sequence[str], rows: AsyncIterator[list[Any]], *, chunk: int = 64 * 1024
) -> AsyncIterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(list(headers))
    async for row in rows:
        sheet.append(row)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as file:
        workbook.save(file)
        file.seek(0)
        while data := file.read(chunk):
            yield data


async def listed(rows: list[list[Any]]) -> AsyncIterator[list[Any]]:
    for row in rows:
        yield row


def disposition(stem: str, extension: str) -> str:
    return f'attachment; filename="{stem}.{extension}"'


def response(
    fmt: str, title: str, headers: Sequence[str], rows: AsyncIterator[list[Any]], *, stem: str
) -> StreamingResponse:
    """A streamed CSV or XLSX download of these rows."""
    if fmt == "xlsx":
        body, media = xlsx_stream(title, headers, rows), XLSX_MEDIA
    else:
        body, media = csv_stream(headers, rows), CSV_MEDIA
    return StreamingResponse(
        body, media_type=media, headers={"content-disposition": disposition(stem, fmt)}
    )
