"""A fund's own detail file (基金明细) for reconciliation: CSV (UTF-8 or GB18030) or XLSX,
a header row then one line per settlement (or per reversal, with a negative amount).

Columns, by header (English or Chinese): settlement_id / 结算号, visit_id / 就诊号,
amount / 金额 (yuan, at most two decimals, may be negative). The cells follow the API's rules:
a visit id is an identifier, refused if it holds a resident ID number (service/idtext.py); an
amount written as text is a plain decimal (service/money.py `written_plainly`), while a
workbook's number cell is a number, as a JSON number is. A settlement is listed once, and its
reversal once (negative), as on our statement. Every bad line is reported with its line number
and column, as the roster import does; nothing is compared until the file is clean.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic_core import PydanticCustomError

from service.base import row_id
from service.cells import TooManyRows, first_sheet_rows
from service.errors import FieldProblem
from service.idtext import holds_resident_id
from service.money import written_plainly, yuan_to_fen

MAX_LINES = 100_000
# An XLSX is a zip: a 1 MB upload of repeated XML unpacks ~1000-fold, and openpyxl holds the
# shared strings in memory (660 kB of them grew a worker by 340 MB and held its event loop for
# 8 s). What a workbook of MAX_LINES lines unpacks to fits well under these.
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
MAX_SHEET_ROWS = 2 * MAX_LINES  # blank rows included
MAX_SHEET_COLUMNS = 64  # the three columns, wherever the header puts them among others
MAX_PROBLEMS = 100
COLUMNS = {
    "settlement_id": ("settlement_id", "结算号", "结算id"),
    "visit_id": ("visit_id", "就诊号"),
    "amount": ("amount", "金额", "本基金支付"),
}


@dataclass(frozen=True, slots=True)
class TheirLine:
    line: int
    settlement_id: int
    visit_id: str
    amount_fen: int


class BadDetailFile(ValueError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the detail file")
        self.problems = problems


def _problem(line: int, column: str, message: str, code: str = "invalid_line") -> FieldProblem:
    return FieldProblem(field=f"line {line}: {column}", message=message, code=code)


def rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    if content[:4] == b"PK\x03\x04":
        yield from _xlsx(content)
        return
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    first = 1
    try:
        for values in reader:
            if any(v.strip() for v in values):
                yield first, values
            first = reader.line_num + 1
    except csv.Error as exc:  # e.g. a quote never closed: the rest is one field, past the limit
        raise BadDetailFile([_problem(first, "file", f"not readable as CSV: {exc}")]) from exc


def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise BadDetailFile(
                [_problem(1, "file", "neither UTF-8 nor GB18030 text, nor an XLSX workbook")]
            ) from exc


def _xlsx(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    unreadable = BadDetailFile([_problem(1, "file", "not a readable XLSX workbook")])
    try:
        # zipfile holds each member to the size its directory declares (a longer one fails
        # its CRC), so the declared sizes bound what openpyxl can unpack.
        unpacked = sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(content)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise unreadable from exc
    if unpacked > MAX_UNPACKED_BYTES:
        too_large = (
            f"the workbook unpacks to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}: "
            "save it again as a plain XLSX, or send a CSV"
        )
        raise BadDetailFile([_problem(1, "file", too_large)])
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise unreadable from exc
    try:
        yield from first_sheet_rows(workbook, most=MAX_SHEET_ROWS, columns=MAX_SHEET_COLUMNS)
    except TooManyRows as exc:
        raise BadDetailFile([_problem(exc.most + 1, "file", str(exc))]) from exc


def _header(values: list[Any], line: int) -> dict[str, int]:
    names = [str(v or "").strip().lower() for v in values]
    index: dict[str, int] = {}
    missing = []
    for column, aliases in COLUMNS.items():
        found = next((i for i, name in enumerate(names) if name in aliases), None)
        if found is None:
            missing.append(column)
        else:
            index[column] = found
    if missing:
        raise BadDetailFile(
            [
                _problem(line, c, f"no column {c} ({' / '.join(COLUMNS[c])}) in the header")
                for c in missing
            ]  # fmt: skip
        )
    return index


def _value(values: list[Any], i: int) -> Any:
    return values[i] if i < len(values) else None


def _cell(values: list[Any], i: int) -> str:
    value = _value(values, i)
    return "" if value is None else str(value).strip()


def _line(values: list[Any], line: int, index: dict[str, int]) -> TheirLine | list[FieldProblem]:
    problems = []
    raw_id = _cell(values, index["settlement_id"])
    settlement_id = row_id(raw_id)
    if settlement_id is None:
        problems.append(_problem(line, "settlement_id", f"{raw_id[:40]!r} is not a settlement id"))
    elif holds_resident_id(raw_id):
        # Eighteen digits fit a BIGINT: a file with its columns swapped would keep the number in
        # the stored answer, where an id cannot be masked. No id we gave is that large.
        problems.append(_resident_id(line, "settlement_id"))
    visit_id = _cell(values, index["visit_id"])
    if not visit_id or len(visit_id) > 64 or not visit_id.isprintable():
        problems.append(
            _problem(line, "visit_id", "a visit id of 1 to 64 printable characters is needed")
        )
    elif holds_resident_id(visit_id):
        # An identifier, as the API's visit ids: refused, never kept in the stored answer.
        problems.append(_resident_id(line, "visit_id"))
    amount_fen = _amount(_value(values, index["amount"]), line)
    if isinstance(amount_fen, FieldProblem):
        problems.append(amount_fen)
    if problems or settlement_id is None or isinstance(amount_fen, FieldProblem):
        return problems
    return TheirLine(line, settlement_id, visit_id, amount_fen)


def _resident_id(line: int, column: str) -> FieldProblem:
    message = "holds a resident ID number; identifiers must not carry one"
    return _problem(line, column, message, "resident_id_in_text")


def _amount(value: Any, line: int) -> int | FieldProblem:
    """A cell's amount in fen, or its problem. Unlike the other cells it is not stripped: the
    API refuses " 5" too."""
    if isinstance(value, bool):  # a workbook's TRUE/FALSE is not a number
        return _problem(line, "amount", f"{value} is not an amount")
    text = "" if value is None else str(value)
    # A workbook's number cell is a number, as a JSON number is (100.0 reads as 100); text,
    # a CSV's every cell, is read by the API's rule.
    if not isinstance(value, int | float):
        try:
            written_plainly(text)
        except PydanticCustomError as exc:
            return _problem(line, "amount", f"{text[:40]!r}: {exc.message()}", exc.type)
    fen = _fen(text)
    if fen is None:
        return _problem(line, "amount", f"{text[:40]!r} is not yuan with at most 2 decimals")
    return fen


def _fen(text: str) -> int | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 12:
        return None
    try:
        return yuan_to_fen(value)
    except ValueError:  # more than two decimals: not an amount a fund pays
        return None


def parse(content: bytes) -> list[TheirLine]:
    """The file's lines, or BadDetailFile with every problem (up to MAX_PROBLEMS)."""
    lines: list[TheirLine] = []
    problems: list[FieldProblem] = []
    index: dict[str, int] | None = None
    # A settlement's line, and its reversal's (negative), at most once each: summed, a
    # repeated line would read as the fund paying twice (docs/clearing.md).
    seen: dict[tuple[int, bool], int] = {}
    for number, values in rows(content):
        if index is None:
            index = _header(values, number)
            continue
        if len(lines) >= MAX_LINES:
            raise BadDetailFile([_problem(number, "file", f"more than {MAX_LINES} lines")])
        parsed = _line(values, number, index)
        if isinstance(parsed, TheirLine):
            key = (parsed.settlement_id, parsed.amount_fen < 0)
            first = seen.setdefault(key, number)
            if first == number:
                lines.append(parsed)
                continue
            parsed = [
                _problem(
                    number,
                    "settlement_id",
                    f"settlement {parsed.settlement_id} is listed on line {first} too: a detail "
                    "file lists a settlement once, and its reversal once (negative)",
                )
            ]
        problems.extend(parsed)
        if len(problems) >= MAX_PROBLEMS:
            break
    if index is None:
        problems.append(_problem(1, "file", "the file is empty: a header row is needed"))
    if problems:
        raise BadDetailFile(problems[:MAX_PROBLEMS])
    return lines
