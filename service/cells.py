"""Spreadsheet cells that cannot run (CSV or formula injection, OWASP).

A spreadsheet program reads a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: a visit id `-1-1` becomes -2, `=HYPERLINK(...)` a link that sends
data away. Every text cell the service writes to a CSV file goes through `inert`: such a cell
gets a leading apostrophe, which spreadsheet programs show as text and never evaluate. Numbers
stay numbers: a value the service holds as a number (an int, a Decimal, an amount's column) is
written bare, while a caller's text that only looks like one (a HIS id "-12.30") is text, and
quoted. (An XLSX cell is typed: text is written as a string cell, never a formula, see
service/violations/export.py.) A test reads service/ for every CSV writer and requires this.

The other way, an uploaded workbook (a roster, a fund's detail file) is read as its first
sheet's rows that hold a value: `first_sheet_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from openpyxl import Workbook

# OWASP's = + - @, tab and carriage return; and the full-width = + - @ (U+FF1D, U+FF0B, U+FF0D,
# U+FF20), which a Chinese input method types and a spreadsheet may read as the ASCII ones.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

T = TypeVar("T")


@overload
def inert(value: str) -> str: ...


@overload
def inert(value: T) -> T: ...


def inert(value: object) -> object:
    """The cell's value, with text that would start a formula quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class TooManyRows(ValueError):
    """The sheet goes on past the rows its reader takes (blank rows counted)."""

    def __init__(self, most: int) -> None:
        super().__init__(f"the sheet has more than {most} rows")
        self.most = most


def first_sheet_rows(
    workbook: Workbook, *, most: int | None = None, columns: int | None = None
) -> Iterator[tuple[int, list[Any]]]:
    """The first sheet's rows that hold a value, with their row numbers (from 1, as the
    spreadsheet shows them); the workbook is closed once they are read or the reader stops.
    `most`: TooManyRows past that many rows, blank ones included, which are read too. `columns`:
    only the first so many cells of a row. openpyxl fills every row between two that hold a
    value with empty cells as wide as the sheet's widest: one cell in column XFD and one 40,000
    rows down, a 5 kB file, were 21 s of a worker's time."""
    try:
        sheet = workbook.worksheets[0]
        read = sheet.iter_rows(values_only=True, max_col=columns)
        for number, values in enumerate(read, start=1):
            if most is not None and number > most:
                raise TooManyRows(most)
            if any(v not in (None, "") for v in values):
                yield number, list(values)
    finally:
        workbook.close()
