"""Spreadsheet cells that cannot run (CSV or formula injection, OWASP).

A spreadsheet program reads a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: a visit id `-1-1` becomes -2, `=HYPERLINK(...)` a link that sends
data away. Every text cell the service writes to a CSV file goes through `inert`: such a cell
gets a leading apostrophe, which spreadsheet programs show as text and never evaluate. Numbers
stay numbers. (An XLSX cell is typed: text is written as a string cell, never a formula, see
service/violations/export.py.) A test reads service/ for every CSV writer and requires this.
"""

from __future__ import annotations

from typing import TypeVar, overload

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
