"""Receivables' problems, each with a stable code."""

from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class ReceivableNotFound(NotFound):
    code = "receivable_not_found"


class ReceivableCancelled(Conflict):
    code = "receivable_cancelled"


class ReceivablePaid(Conflict):
    code = "receivable_paid"


class PaymentExceedsDue(Conflict):
    code = "payment_exceeds_due"


class PaymentConflict(Conflict):
    code = "payment_conflict"


class InvalidPayment(Unprocessable):
    code = "invalid_payment"


class InvalidSchedule(Unprocessable):
    code = "invalid_schedule"


class ScheduleExists(Conflict):
    code = "schedule_exists"


class ScheduleAfterDueDate(Conflict):
    """分期付款 is agreed at discharge, before the share falls due: a schedule agreed once it is
    overdue would clear the overdue days and restart the defaulter clock (ADR 0014)."""

    code = "schedule_after_due_date"


class TooEarlyToMark(Conflict):
    code = "grace_period_running"


class AlreadyMarked(Conflict):
    code = "already_marked"


class NotMarked(Conflict):
    code = "not_marked"


class StayNotDischarged(Conflict):
    """A stage's share (中途结算) while the patient is in the ward: owed, not yet due."""

    code = "stay_not_discharged"
