"""Resident ID numbers (居民身份证号码): validation, masking and the keyed hash we store.

GB 11643-1999: 6-digit region code, 8-digit birth date, 3-digit sequence, and an
ISO 7064 MOD 11-2 check character. The old 15-digit form (2-digit year, no check) is converted.
The full number is never stored or logged: lookups use an HMAC of it, people see the masked form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

from service.china_time import today as china_today
from service.errors import Unprocessable

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Province-level codes (GB/T 2260), plus 81/82/83 for residence permits of HK, Macau, Taiwan.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


# HIS forms are often typed with a Chinese input method: full-width digits and X are the same
# characters to a clerk. Any other non-ASCII "digit" (² or ٣, which str.isdigit() accepts) is not.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
_DIGITS_15 = re.compile(r"[0-9]{15}")
_DIGITS_18 = re.compile(r"[0-9]{17}[0-9X]")


class InvalidResidentId(Unprocessable):
    code = "invalid_resident_id"
    title = "Invalid resident ID number"


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def _birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def normalise_resident_id(raw: str, *, field: str = "id_number", today: date | None = None) -> str:
    """Return the 18-character form or raise InvalidResidentId saying what is wrong."""
    value = raw.strip().translate(_FULL_WIDTH).upper()
    if len(value) == 15:
        if not _DIGITS_15.fullmatch(value):
            raise InvalidResidentId("a 15-digit ID number has digits only", field=field)
        first17 = value[:6] + "19" + value[6:]
        value = first17 + check_character(first17)
    if len(value) != 18:
        raise InvalidResidentId("an ID number has 18 characters (or the old 15)", field=field)
    if not _DIGITS_18.fullmatch(value):
        raise InvalidResidentId("an ID number is 17 digits and a check digit or X", field=field)
    body, check = value[:17], value[17]
    if body[:2] not in PROVINCE_CODES:
        raise InvalidResidentId("the region code is not a known province", field=field)
    born = _birth_date(body[6:14])
    if born is None or born.year < 1900 or born > (today or china_today()):
        raise InvalidResidentId("the date of birth in the ID number is not valid", field=field)
    if check_character(body) != check:
        raise InvalidResidentId("the check digit does not match (ISO 7064 MOD 11-2)", field=field)
    return value


def mask_resident_id(normalised: str) -> str:
    """110105********1234: region kept, birth date and sequence hidden."""
    return normalised[:6] + "*" * 8 + normalised[-4:]


def mask_name(name: str) -> str:
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


@dataclass(frozen=True, slots=True)
class ResidentId:
    person_key: str
    masked: str
    region_code: str


class IdHasher:
    """HMAC-SHA256 under a server secret: a stolen table cannot be reversed by enumerating IDs."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)  # the key's pads, computed once

    def key_of(self, normalised: str) -> str:
        mac = self._keyed.copy()
        mac.update(normalised.encode())
        return mac.hexdigest()

    def resident(self, raw: str, *, field: str = "id_number") -> ResidentId:
        return self.stored_forms(normalise_resident_id(raw, field=field))

    def stored_forms(self, normalised: str) -> ResidentId:
        """The keyed hash and masked form of an ID number `normalise_resident_id` returned."""
        return ResidentId(
            person_key=self.key_of(normalised),
            masked=mask_resident_id(normalised),
            region_code=normalised[:6],
        )


def identify(hasher: IdHasher, raw: str, *, field: str = "id_number") -> tuple[str, ResidentId]:
    """A typed ID number checked and normalised (422 naming `field` if not valid), with its
    keyed hash and masked form."""
    normalised = normalise_resident_id(raw, field=field)
    return normalised, hasher.stored_forms(normalised)  # checked once, not twice
