"""One roster row: its columns, how it is checked, and the entry it becomes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from service.identity import IdHasher, InvalidResidentId, mask_resident_id
from service.roster.categories import category_code
from service.roster.models import ROW_FACTS
from service.roster.resident_ids import IdChecker

COLUMNS = ("id_number", *ROW_FACTS)
REQUIRED = ("id_number", "insured_county", "category", "valid_from")
# Header aliases the offices' exports use (身份证号 …).
ALIASES = {
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "参保地": "insured_county",
    "类别": "category",
    "起始日期": "valid_from",
    "终止日期": "valid_to",
    "死亡": "deceased",
    "家庭医生签约至": "family_doctor_until",
    "慢病卡有效期至": "chronic_card_until",
}
# Dates as offices write them: 2024-01-01, 2024/1/1, 2024.01.01, 20240101, 2024年1月1日.
_DATE = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))$")
_COUNTY = re.compile(r"^[0-9]{6}$")
_BOOL = dict.fromkeys(("1", "true", "yes", "y", "是"), True) | dict.fromkeys(
    ("", "0", "false", "no", "n", "否"), False
)

Entry = tuple[str, str, str, str, date, date | None, bool, date | None, date | None, int]
"""person_key, person_masked, insured_county, category, valid_from, valid_to, deceased,
family_doctor_until, chronic_card_until, line_no (snapshot_id is added by the writer)."""


class RowRejected(ValueError):
    def __init__(self, field: str, reason: str, masked: str = "") -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.masked = masked


def header_index(header: list[Any]) -> dict[str, int]:
    """Column positions by name; raises ValueError naming the missing columns."""
    names = [ALIASES.get(str(h).strip(), str(h).strip().lower()) for h in header]
    index = {name: i for i, name in enumerate(names) if name in COLUMNS}
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise ValueError(f"the header lacks column(s): {', '.join(missing)}")
    return index


def _text(value: Any, field: str) -> str:
    if isinstance(value, str):  # every CSV cell: test for it first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float):
        raise RowRejected(field, "a number stored as a float may have lost digits; store text")
    return str(value).strip()


def _date(value: Any, field: str, *, required: bool = False) -> date | None:
    if isinstance(value, date):  # an XLSX date cell
        return value.date() if isinstance(value, datetime) else value
    text = _text(value, field)
    if not text:
        if required:
            raise RowRejected(field, "is required")
        return None
    try:
        if len(text) == 10 and text[4] == "-":  # the common form, at C speed
            return date.fromisoformat(text)
        found = _DATE.match(text)
        if found is None:
            raise ValueError(text)
        year, month, day = (
            found.group(1),
            found.group(2) or found.group(4),
            found.group(3) or found.group(5),
        )
        return date(int(year), int(month), int(day))
    except ValueError:
        raise RowRejected(field, f"is not a date (YYYY-MM-DD): {text[:20]!r}") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value, "deceased").lower()
    answer = _BOOL.get(text)
    if answer is None:
        raise RowRejected("deceased", f"is not yes/no: {text[:10]!r}")
    return answer


class RowParser:
    """Checks the rows of one file and turns them into entries. Built once per file, so what
    does not change from row to row (column positions, today's date) is worked out once."""

    def __init__(self, index: dict[str, int], hasher: IdHasher) -> None:
        width = max(index.values(), default=-1) + 1
        # Rows are padded with width + 1 Nones: a short row's missing cells and the columns
        # the header lacks (position -1, the last pad) both read as None.
        self._pad: list[Any] = [None] * (width + 1)
        self._cells = itemgetter(*(index.get(name, -1) for name in COLUMNS))
        self._hasher = hasher
        self._ids = IdChecker()

    def __call__(self, values: list[Any] | tuple[Any, ...], line_no: int) -> Entry:
        raw, county, category, valid_from, valid_to, deceased, doctor, card = self._cells(
            [*values, *self._pad]
        )
        try:
            normalised = self._ids.normalise(_text(raw, "id_number"))
        except InvalidResidentId as exc:
            raise RowRejected("id_number", exc.detail) from None
        masked = mask_resident_id(normalised)
        try:
            return (
                self._hasher.key_of(normalised),
                masked,
                *_checked_codes(county, category),
                *_checked_span(valid_from, valid_to),
                _bool(deceased),
                _date(doctor, "family_doctor_until"),
                _date(card, "chronic_card_until"),
                line_no,
            )
        except RowRejected as exc:
            exc.masked = masked
            raise


def _checked_codes(county: Any, category: Any) -> tuple[str, str]:
    county = _text(county, "insured_county")
    if not _COUNTY.match(county):
        raise RowRejected("insured_county", "is not a 6-digit county code")
    written = _text(category, "category")
    code = category_code(written)
    if code is None:
        raise RowRejected(
            "category",
            f"is neither a category code nor a known name: {written[:20]!r} "
            "(e.g. registered_poor or 低保对象; docs/roster.md lists them)",
        )
    return county, code


def _checked_span(valid_from: Any, valid_to: Any) -> tuple[date, date | None]:
    start = _date(valid_from, "valid_from", required=True)
    assert start is not None
    end = _date(valid_to, "valid_to")
    if end is not None and end < start:
        raise RowRejected("valid_to", "is before valid_from")
    return start, end


def parse_row(
    values: list[Any] | tuple[Any, ...], index: dict[str, int], hasher: IdHasher, line_no: int
) -> Entry:
    """One row on its own (the registry stand-in); a file's rows go through one RowParser."""
    return RowParser(index, hasher)(values, line_no)


@dataclass(frozen=True, slots=True)
class RosterPerson:
    """A person as the demo and the tests write them (raw ID number: never stored)."""

    id_number: str
    insured_county: str
    categories: tuple[tuple[str, date, date | None], ...]
    deceased: bool = False
    family_doctor_until: date | None = None
    chronic_card_until: date | None = None
    name: str = ""

    def csv_rows(self) -> list[list[str]]:
        def iso(d: date | None) -> str:
            return d.isoformat() if d else ""

        return [
            [
                self.id_number,
                self.insured_county,
                code,
                start.isoformat(),
                iso(end),
                "yes" if self.deceased else "no",
                iso(self.family_doctor_until),
                iso(self.chronic_card_until),
            ]
            for code, start, end in self.categories
        ]
