"""One roster row: its columns, how it is checked, and the entry it becomes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from service.identity import IdHasher, InvalidResidentId, mask_resident_id, normalise_resident_id

COLUMNS = (
    "id_number",
    "insured_county",
    "category",
    "valid_from",
    "valid_to",
    "deceased",
    "family_doctor_until",
    "chronic_card_until",
)
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
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_COUNTY = re.compile(r"^\d{6}$")
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"", "0", "false", "no", "n", "否"}

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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        raise RowRejected("id_number", "a number stored as a float lost digits; store it as text")
    return str(value).strip()


def _date(value: Any, field: str, *, required: bool = False) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        if required:
            raise RowRejected(field, "is required")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RowRejected(field, f"is not a date (YYYY-MM-DD): {text[:20]!r}") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowRejected("deceased", f"is not yes/no: {text[:10]!r}")


def parse_row(
    values: list[Any] | tuple[Any, ...], index: dict[str, int], hasher: IdHasher, line_no: int
) -> Entry:
    def get(name: str) -> Any:
        i = index.get(name)
        return values[i] if i is not None and i < len(values) else None

    raw = _text(get("id_number"))
    try:
        normalised = normalise_resident_id(raw)
    except InvalidResidentId as exc:
        raise RowRejected("id_number", exc.detail) from None
    masked = mask_resident_id(normalised)
    try:
        return _entry(get, normalised, masked, hasher, line_no)
    except RowRejected as exc:
        exc.masked = masked
        raise


def _entry(get: Any, normalised: str, masked: str, hasher: IdHasher, line_no: int) -> Entry:
    county = _text(get("insured_county"))
    if not _COUNTY.match(county):
        raise RowRejected("insured_county", "is not a 6-digit county code")
    category = _text(get("category"))
    if not _CATEGORY.match(category):
        raise RowRejected("category", "is not a category code (e.g. registered_poor)")
    valid_from = _date(get("valid_from"), "valid_from", required=True)
    assert valid_from is not None
    valid_to = _date(get("valid_to"), "valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise RowRejected("valid_to", "is before valid_from")
    return (
        hasher.key_of(normalised),
        masked,
        county,
        category,
        valid_from,
        valid_to,
        _bool(get("deceased")),
        _date(get("family_doctor_until"), "family_doctor_until"),
        _date(get("chronic_card_until"), "chronic_card_until"),
        line_no,
    )


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
