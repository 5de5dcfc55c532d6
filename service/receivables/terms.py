"""The policy's terms for a patient's share under pay-after-treatment (controls.
pay_after_treatment in the policy data, docs/policy.md), taken at discharge and kept with the
receivable, so that a later policy version never changes a debt already owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from service.china_time import local_date
from service.policy import CompiledPolicy, Visit, pay_after_treatment, points_for

PREPAYMENT_DEMANDED = "PREPAYMENT_DEMANDED"
DEFAULTER_WITHOUT_REMINDERS = "DEFAULTER_WITHOUT_REMINDERS"
# The ledger source of what a mark books; its source_ref is the mark's id.
MARK_SOURCE = "defaulter_mark"


@dataclass(frozen=True, slots=True)
class Terms:
    due_days_after_discharge: int
    grace_days: int
    reminders_required: int
    deposit_from_defaulters: bool
    prepayment_points: str
    defaulter_points: str

    def due_on(self, discharged_at: datetime) -> date:
        """Due date: N calendar days after the day of discharge (China time)."""
        day = local_date(discharged_at)
        return day + timedelta(days=self.due_days_after_discharge)

    def may_mark_from(self, due_on: date) -> date:
        return due_on + timedelta(days=self.grace_days)

    def as_json(self) -> dict[str, Any]:
        # Its fields are scalars: no deep copy (`asdict`), which cost a settlement ~1.5%.
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def of(cls, data: dict[str, Any]) -> Terms:
        return cls(**data)


def terms_for(policy: CompiledPolicy, *, visit: Visit, categories: frozenset[str]) -> Terms | None:
    """The terms if this visit is under pay-after-treatment, else None (the patient paid at
    the desk, and there is nothing to collect afterwards)."""
    if not pay_after_treatment(policy, visit=visit, categories=categories).eligible:
        return None
    rule = policy.controls.pay_after_treatment
    assert rule is not None
    return Terms(
        due_days_after_discharge=rule.due_days_after_discharge,
        grace_days=rule.grace_days,
        reminders_required=rule.reminders_required,
        deposit_from_defaulters=rule.deposit_from_defaulters,
        prepayment_points=str(points_for(policy, PREPAYMENT_DEMANDED)),
        defaulter_points=str(points_for(policy, DEFAULTER_WITHOUT_REMINDERS)),
    )
