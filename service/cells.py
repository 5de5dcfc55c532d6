"""Spreadsheet cells that cannot run (CSV or formula injection, OWASP).

A spreadsheet program reads a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: a visit id `-1-1` becomes -2, `=HYPERLINK(...)` a link that sends
data away. Every exported text cell goes through `inert`: such a cell gets a leading apostrophe,
which spreadsheet programs show as text and never evaluate. Numbers stay numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """The cell's value, with text that would start a formula quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
