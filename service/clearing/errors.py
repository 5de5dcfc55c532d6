"""Clearing's problems, each with a stable code."""

from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class FundNotFound(NotFound):
    code = "fund_not_found"


class FundExists(Conflict):
    code = "fund_exists"


class ClearingHospitalNotFound(NotFound):
    code = "hospital_not_found"


class StatementNotFound(NotFound):
    code = "statement_not_found"


class InvalidPeriod(Unprocessable):
    code = "invalid_period"


class PeriodNotBegun(Unprocessable):
    code = "period_not_begun"
    title = "The period has not begun"


class PeriodNotOver(Conflict):
    code = "period_not_over"


class PeriodAlreadyClosed(Conflict):
    """A period at or before the last closed one: closed statements are never reopened."""

    code = "period_closed"


class EarlierPeriodOpen(Conflict):
    code = "earlier_period_open"


class ClearingBusy(Conflict):
    code = "clearing_busy"


class StatementPaid(Conflict):
    code = "statement_paid"


class Overpayment(Conflict):
    code = "overpayment"


class PaymentReferenceConflict(Conflict):
    code = "payment_reference_conflict"


class NothingOwed(Conflict):
    code = "nothing_owed"


class InvalidPaymentAmount(Unprocessable):
    code = "invalid_amount"


class InvalidDetailFile(Unprocessable):
    code = "invalid_detail_file"


class ReconciliationNotFound(NotFound):
    code = "reconciliation_not_found"


class PeriodTooLong(Unprocessable):
    """More days than one comparison of totals reads (service/clearing/days.py)."""

    code = "period_too_long"
