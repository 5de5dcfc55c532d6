"""Who sees which violations: the caller's scope (service/auth/visibility.py) intersected
with the filters asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col

from service.auth import Principal, Role
from service.auth.visibility import narrow_region, region_conditions, visible_to
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


def scope_conditions(principal: Principal, wanted: ViolationFilter) -> list[Any] | None:
    """SQL conditions for what this caller may see of what it asked; None: nothing at all."""
    if narrow_region(principal, wanted.region) is False:
        return None
    hospital = wanted.hospital_code
    if principal.role is Role.HOSPITAL and hospital not in (None, principal.hospital_code):
        return None
    conditions = visible_to(
        principal,
        hospital_code=col(Violation.hospital_code),
        county_code=col(Violation.county_code),
    )
    if wanted.region is not None:
        conditions += region_conditions(col(Violation.county_code), wanted.region)
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
    # A period is of the events' dates (the deposit, admission or discharge: ADR 0018), not of
    # the time a finding was booked: a December discharge settled in January counts in December.
    if wanted.detected_from is not None:
        conditions.append(col(Violation.event_on) >= wanted.detected_from)
    if wanted.detected_to is not None:
        conditions.append(col(Violation.event_on) <= wanted.detected_to)
    return conditions
