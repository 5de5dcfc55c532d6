"""The roster template officials fill in: the columns with their Chinese headers, and three
example rows (synthetic ID numbers) that import cleanly. `settlecheck roster template FILE`
writes it as CSV (UTF-8 with a BOM, so Excel shows the Chinese) or XLSX (ID numbers as text,
dates as dates); docs/roster.md describes every column."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from service.cells import inert
from service.identity import check_character
from service.roster.rows import ALIASES, COLUMNS

HEADERS = {column: chinese for chinese, column in reversed(ALIASES.items())}


def _id(first17: str) -> str:
    return first17 + check_character(first17)


EXAMPLE_ROWS: list[list[str | date | None]] = [
    [_id("50011219600517001"), "990102", "脱贫人口", date(2021, 1, 1), None, "否",
     date(2027, 12, 31), None],
    [_id("51180219751103002"), "990102", "低保对象", date(2023, 7, 1), date(2026, 12, 31), "否",
     date(2027, 12, 31), date(2027, 6, 30)],
    [_id("34010219480229003"), "990103", "特困供养人员", date(2019, 1, 1), None, "否",
     None, None],
]  # fmt: skip


def header() -> list[str]:
    return [HEADERS[c] for c in COLUMNS]


def write_template(path: Path) -> None:
    if path.suffix.lower() == ".xlsx":
        _write_xlsx(path)
    else:
        _write_csv(path)


def _write_csv(path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([inert(h) for h in header()])
        for row in EXAMPLE_ROWS:
            writer.writerow([inert("" if v is None else str(v)) for v in row])


def _write_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "花名册"
    sheet.append(header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in EXAMPLE_ROWS:
        sheet.append(row)
    for column, width in zip("ABCDEFGH", (22, 10, 16, 12, 12, 8, 16, 16), strict=True):
        sheet.column_dimensions[column].width = width
        for cell in sheet[column][1:]:
            # ID numbers and county codes as text (a number would lose the X and leading zeros).
            cell.number_format = "yyyy-mm-dd" if isinstance(cell.value, date) else "@"
    sheet.freeze_panes = "A2"
    book.save(path)
