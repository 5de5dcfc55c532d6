"""Clearing's problems, each with a stable code."""

from __future__ import annotations

from service.errors import Conflict, NotFound, Unprocessable


class FundNotFound(NotFound):
    code = "fund_not_found"


class FundExists(Conflict):
    code = "fund_exists"


class FundCodeCaseTwin(Conflict):
    """A fund is stored under the same code in another case (let in before codes were upper
    case): the database refuses the twin (migration 0017), as it does a hospital's
    (`hospital_code_case_twin`), and which is right is an operator's decision."""

    code = "fund_code_case_twin"
    title = "A fund is stored under this code in another case"


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
