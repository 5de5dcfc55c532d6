"""Resident ID numbers typed into free text: found, refused or masked (docs/decisions/0012).

A clerk types a patient's ID number where a visit id, a receipt number or a note goes; stored
there it would reach auditors and exports in full. Two kinds of field:
- identifiers (visit id, receipt number, HIS ids, referral number, evidence reference, key
  label): a value holding a valid ID number is refused, 422 `resident_id_in_text` naming the
  field, so the HIS fixes its mapping;
- prose (reasons, notes, a referring hospital's name): the ID number is masked in place
  (110105********1234), the rest kept, since the text is wanted.

"A valid ID number" is what `identity.normalise_resident_id` accepts among the 18-character runs
of the text (full-width digits, a lowercase x and single spaces or hyphens between the 6-8-4
groups included), also inside a longer run of digits, and 17 digits standing alone whose check
character completes one (the check character is computed from the 17, so they identify the
person as well). Anything else is left alone: an 18-digit
invoice number has one chance in eleven of a valid check digit, and far less of a valid region
and birth date as well.

Prose also masks the old 15-digit form (6-6-3: region, birth date without its century,
sequence; no check character), which `identity.normalise_resident_id` accepts as the person's
number (`mask_in_prose`): a 15-digit number in a note costs nothing masked. Identifiers and the
exports' visit ids do not look for it, as a HIS's own 15-digit numbers (region, date, sequence)
have its shape and would be refused.

`redact` is broader, for text we show back (problem details): anything shaped like an ID number,
valid or not, is masked there, since a mistyped number is still someone's number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from service.errors import Unprocessable
from service.identity import (
    InvalidResidentId,
    check_character,
    mask_resident_id,
    normalise_resident_id,
)

_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
# Every start position (a lookahead), so a number inside a longer run is found too.
_CANDIDATE = re.compile(r"(?=([0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]))")
# An ID number without its check character (17 digits standing alone): the check character is
# computed from the other 17, so the 17 identify the person as well as the 18 do.
_WITHOUT_CHECK = re.compile(r"(?<![0-9])([0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3})(?![0-9Xx])")
_SEPARATORS = str.maketrans("", "", " -")
_ID_LIKE = re.compile(r"(?<![0-9])([0-9]{6})[ -]?[0-9]{8}[ -]?([0-9]{3}[0-9Xx]?)")


def resident_id_spans(text: str) -> list[tuple[int, int]]:
    """Where valid resident ID numbers stand in `text` (start, end), overlaps merged."""
    plain = text.translate(_FULL_WIDTH)  # one character for one: positions are kept
    found: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(plain):
        if _valid(match.group(1).translate(_SEPARATORS)):
            found.append((match.start(1), match.end(1)))
    for match in _WITHOUT_CHECK.finditer(plain):
        first17 = match.group(1).translate(_SEPARATORS)
        if _valid(first17 + check_character(first17)):
            found.append((match.start(1), match.end(1)))
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if spans and start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def _valid(digits: str) -> bool:
    try:
        normalise_resident_id(digits)
    except InvalidResidentId:
        return False
    return True


def holds_resident_id(text: str) -> bool:
    return bool(resident_id_spans(text))


def mask_resident_ids(text: str) -> str:
    """The text with every valid resident ID number in it masked."""
    spans = resident_id_spans(text)
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        digits = text[start:end].translate(_FULL_WIDTH).translate(_SEPARATORS).upper()
        if len(digits) == 17:  # shown as the ID it is: the 6 and the last 3 of its 17
            digits += check_character(digits)
            out += [text[at:start], mask_resident_id(digits)[:-1]]
        else:
            out += [text[at:start], mask_resident_id(digits)]
        at = end
    out.append(text[at:])
    return "".join(out)


def mask_resident_ids_in(value: Any) -> Any:
    """A JSON value echoed back (a resource as the caller sent it), with every valid resident
    ID number in its strings masked: displays, references, identifiers, text."""
    if isinstance(value, str):
        return mask_resident_ids(value)
    if isinstance(value, dict):
        return {key: mask_resident_ids_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_resident_ids_in(item) for item in value]
    return value


# The old 15-digit form standing alone (a run of 15 in a longer one is some other number).
_OLD_FORM = re.compile(r"(?<![0-9])([0-9]{6}[ -]?[0-9]{6}[ -]?[0-9]{3})(?![0-9])")


def _old_form_masked(match: re.Match[str]) -> str:
    digits = match.group(1).translate(_SEPARATORS)
    if not _valid(digits):
        return match.group(0)
    return digits[:6] + "*" * 6 + digits[-3:]


def _old_forms(plain: str) -> Iterator[tuple[re.Match[str], str]]:
    """Each valid resident ID number in the old 15-digit form, and how it is shown masked."""
    for match in _OLD_FORM.finditer(plain):
        shown = _old_form_masked(match)
        if shown != match.group(0):
            yield match, shown


def mask_in_prose(text: str) -> str:
    """Prose with every valid resident ID number in it masked, the old 15-digit form too."""
    masked = mask_resident_ids(text)
    plain = masked.translate(_FULL_WIDTH)  # one character for one: the rest is kept as typed
    out, at = [], 0
    for match, shown in _old_forms(plain):
        out += [masked[at : match.start()], shown]
        at = match.end()
    if not out:
        return masked
    out.append(masked[at:])
    return "".join(out)


def holds_old_form(text: str) -> bool:
    """Whether the text holds a valid resident ID number in the old 15-digit form."""
    return next(_old_forms(text.translate(_FULL_WIDTH)), None) is not None


def redact(text: str) -> str:
    """Mask anything shaped like a resident ID number, valid or not (for text shown back), and
    a valid one in the old 15-digit form."""
    plain = mask_in_prose(text)
    return _ID_LIKE.sub(
        lambda m: m.group(1) + "********" + m.group(2), plain.translate(_FULL_WIDTH)
    )


class ResidentIdInText(Unprocessable):
    code = "resident_id_in_text"
    title = "A resident ID number in an identifier"


def refuse_resident_id(value: str, *, field: str) -> str:
    """For paths that take no request model (console forms): the service-level refusal."""
    if holds_resident_id(value):
        raise ResidentIdInText(
            f"{field} holds a resident ID number; identifiers must not carry one", field=field
        )
    return value


def _refuse(value: str) -> str:
    if holds_resident_id(value):
        raise PydanticCustomError(
            "resident_id_in_text",
            "holds a resident ID number; identifiers must not carry one",
        )
    _one_line(value)
    if value != value.strip():
        raise PydanticCustomError(
            "not_trimmed", "begins or ends with a space; send the identifier without them"
        )
    return value


# Tab, line feed and carriage return are prose; the other C0 controls and DEL are not, and
# PostgreSQL cannot store NUL at all (a 422 without the field's name, before this check).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _mask(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError(
            "control_character", "holds a control character (such as NUL); write plain text"
        )
    return mask_in_prose(value)


NoResidentId = AfterValidator(_refuse)
"""For identifiers (ids, references, a key's label): `Annotated[str, Field(...), NoResidentId]`
refuses a value holding a resident ID number, or anything but one line of visible text."""


# One line of plain text also has no line break (a CSV export's row would split) and no
# invisible format character (a right-to-left override or a zero-width space can make one
# name read as another in the console).
# C0 and C1 controls (U+0085 is a line break, U+009B a terminal's escape), the bidi marks and
# overrides, and the characters that show nothing (soft hyphen, zero-width ones, word joiner,
# BOM, Hangul filler, tags).
_NOT_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u2069\u3164\ufeff\U000e0000-\U000e007f]"
)


def _one_line(value: str) -> None:
    if _NOT_ONE_LINE.search(value):
        raise PydanticCustomError(
            "not_one_line",
            "holds a control character, a line break or an invisible format character; "
            "write one line of plain text",
        )


def _plain_line(value: str) -> str:
    _one_line(value)
    if not value.strip():
        raise PydanticCustomError("blank", "is blank")
    return value


PlainLine = AfterValidator(_plain_line)
"""For a name (a patient's, a region's, a hospital's): one line of visible text."""

MaskResidentIds = AfterValidator(_mask)
"""For prose: `Annotated[str, Field(...), MaskResidentIds]` stores it masked (`mask_in_prose`),
and refuses control characters other than tab and line breaks."""

Identifier = Annotated[str, NoResidentId]
Prose = Annotated[str, MaskResidentIds]
