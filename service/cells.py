"""Spreadsheet cells that cannot run (CSV or formula injection, OWASP).

A spreadsheet program reads a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: a visit id `-1-1` becomes -2, `=HYPERLINK(...)` a link that sends
data away. Every text cell the service writes to a CSV file goes through `inert`: such a cell
gets a leading apostrophe, which spreadsheet programs show as text and never evaluate. Numbers
stay numbers. (An XLSX cell is typed: text is written as a string cell, never a formula, see
service/violations/export.py.) A test reads service/ for every CSV writer and requires this.

The other way, an uploaded workbook (a roster, a fund's detail file) is read as its first
sheet's rows that hold a value: `first_sheet_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from openpyxl import Workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

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


def first_sheet_rows(workbook: Workbook) -> Iterator[tuple[int, list[Any]]]:
    """The first sheet's rows that hold a value, with their row numbers (from 1, as the
    spreadsheet shows them); the workbook is closed once they are read or the reader stops."""
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(v not in (None, "") for v in values):
                yield number, list(values)
    finally:
        workbook.close()
