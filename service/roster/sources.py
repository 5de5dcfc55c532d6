"""Reading roster files row by row: CSV (UTF-8, with or without BOM; GB18030 too) and XLSX
(openpyxl read-only). Memory stays flat whatever the size."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.cells import first_sheet_rows

Row = tuple[int, list[Any]]  # (the row's first line in the file, cell values)


class RosterFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw: io.BufferedReader | None = None

    @property
    def position(self) -> int:
        """Bytes read so far (CSV) — for the progress bar."""
        return self._raw.tell() if self._raw is not None and not self._raw.closed else 0

    def rows(self) -> Iterator[Row]:
        if self.path.suffix.lower() in (".xlsx", ".xlsm"):
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def _csv_rows(self) -> Iterator[Row]:
        encoding = _sniff_encoding(self.path)
        with self.path.open("rb") as raw:
            self._raw = raw
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            reader = csv.reader(text)
            first_line = 1  # a quoted cell may hold line breaks: count lines, not records
            for values in reader:
                # A sheet's blank row, saved as a line of commas, holds no value: skipped, as
                # first_sheet_rows skips an XLSX one (not a row with every field missing).
                if any(value.strip() for value in values):
                    yield first_line, values
                first_line = reader.line_num + 1

    def _xlsx_rows(self) -> Iterator[Row]:
        from openpyxl import load_workbook

        yield from first_sheet_rows(load_workbook(self.path, read_only=True, data_only=True))


def _sniff_encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(65536)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the buffer's end
            return "gb18030"
    return "utf-8"
