"""Who sees which violations: the caller's scope intersected with the filters asked for.

County codes are six digits, so a region prefix is the closed range
[prefix + 0…0, prefix + 9…9]: a plain B-tree range that every collation orders the same way
(a LIKE 'p%' would need text_pattern_ops on a non-C PostgreSQL collation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlmodel import col

from service.auth import Principal, Role
from service.china_time import day_start
from service.violations.models import Violation


@dataclass(frozen=True, slots=True)
class ViolationFilter:
    """What a caller asked for; dates are calendar days in China Standard Time, inclusive."""

    region: str | None = None
    hospital_code: str | None = None
    rule_code: str | None = None
    status: str | None = None
    severity: str | None = None
    detected_from: date | None = None
    detected_to: date | None = None
    visit_id: str | None = None


def narrow_region(principal: Principal, asked: str | None) -> str | None | Literal[False]:
    """The effective region prefix, None for everywhere, or False when the two do not meet."""
    own = principal.region_prefix if principal.role is Role.AUDITOR else None
    if own is None or asked is None:
        return asked or own
    if asked.startswith(own):
        return asked
    if own.startswith(asked):
        return own
    return False


def region_range(prefix: str) -> tuple[str, str]:
    return prefix.ljust(6, "0"), prefix.ljust(6, "9")


def region_conditions(column: Any, prefix: str) -> list[Any]:
    if len(prefix) >= 6:
        return [column == prefix[:6]]
    low, high = region_range(prefix)
    return [column >= low, column <= high]


def scope_conditions(principal: Principal, wanted: ViolationFilter) -> list[Any] | None:
    """SQL conditions for what this caller may see of what it asked; None: nothing at all."""
    region = narrow_region(principal, wanted.region)
    if region is False:
        return None
    hospital = wanted.hospital_code
    if principal.role is Role.HOSPITAL:
        if hospital is not None and hospital != principal.hospital_code:
            return None
        hospital = principal.hospital_code
    conditions: list[Any] = []
    if isinstance(region, str):
        conditions += region_conditions(col(Violation.county_code), region)
    if hospital is not None:
        conditions.append(col(Violation.hospital_code) == hospital)
    return conditions + _plain_filters(wanted)


def _plain_filters(wanted: ViolationFilter) -> list[Any]:
    conditions: list[Any] = []
    for column, value in (
        (Violation.rule_code, wanted.rule_code),
        (Violation.status, wanted.status),
        (Violation.severity, wanted.severity),
        (Violation.visit_id, wanted.visit_id),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if wanted.detected_from is not None:
        conditions.append(col(Violation.detected_at) >= day_start(wanted.detected_from))
    if wanted.detected_to is not None:
        end = day_start(wanted.detected_to + timedelta(days=1))
        conditions.append(col(Violation.detected_at) < end)
    return conditions
