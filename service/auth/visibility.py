"""What a principal may see, as SQL: the one rule every list and read applies.

- an admin sees everything;
- a hospital sees its own hospital's objects (another hospital's object is a 404, never a 403);
- an auditor sees objects whose county code lies under its region prefix;
- a fund key (service/clearing) sees, of its own fund's figures, those whose county code lies
  under its region prefix (the fund itself is the caller's to check: `Principal.sees_fund`).

County codes are six digits, so a region prefix is the closed range
[prefix + 0…0, prefix + 9…9]: a plain B-tree range that every collation orders the same way
(a LIKE 'p%' would need text_pattern_ops on a non-C PostgreSQL collation).
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from service.auth.principal import Principal, Role

__all__ = [
    "covers_region",
    "narrow_region",
    "prefix_of_region",
    "region_conditions",
    "region_range",
    "visible_to",
]


def visible_to(principal: Principal, *, hospital_code: Any, county_code: Any) -> list[Any]:
    """SQL conditions on an object's hospital and county columns: what this caller may see."""
    if principal.role is Role.ADMIN:
        return []
    if principal.role is Role.HOSPITAL and principal.hospital_code:
        return [hospital_code == principal.hospital_code]
    if principal.role in (Role.AUDITOR, Role.FUND) and principal.region_prefix:
        return region_conditions(county_code, principal.region_prefix)
    return [sa.false()]  # a key bound to nothing sees nothing


def region_range(prefix: str) -> tuple[str, str]:
    return prefix.ljust(6, "0"), prefix.ljust(6, "9")


def region_conditions(column: Any, prefix: str) -> list[Any]:
    """Codes under a region prefix, as an index range."""
    if len(prefix) >= 6:
        return [column == prefix[:6]]
    low, high = region_range(prefix)
    return [column >= low, column <= high]


def narrow_region(principal: Principal, asked: str | None) -> str | None | Literal[False]:
    """The region prefix to report on: what was asked within the auditor's own region, None for
    everywhere, or False when the two do not meet."""
    own = principal.region_prefix if principal.role is Role.AUDITOR else None
    if own is None or asked is None:
        return asked or own
    if asked.startswith(own):
        return asked
    if own.startswith(asked):
        return own
    return False


def prefix_of_region(region: str) -> str:
    """The insured counties a region code stands for, as a prefix: a county's own code, a
    prefecture's four digits (9901), a province's two (99)."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region


def covers_region(principal: Principal, prefix: str) -> bool:
    """Whether the caller's scope holds the whole region (an admin, or an auditor whose region
    contains it): what a report or a run over the region needs."""
    narrowed = narrow_region(principal, prefix)
    return narrowed is not False and (narrowed is None or narrowed == prefix)
