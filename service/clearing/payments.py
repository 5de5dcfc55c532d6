"""A fund's payments (拨付) of closed statements to hospitals: idempotent by the fund's
reference, never more than the statement owes."""

from __future__ import annotations

from service.auth import Principal, Role
from service.clearing.errors import (
    InvalidPaymentAmount,
    NothingOwed,
    Overpayment,
    PaymentReferenceConflict,
    StatementNotFound,
    StatementPaid,
)
from service.clearing.models import ClearingPayment
from service.clearing.schemas import ClearingPaymentCreate, ClearingPaymentPublic
from service.clearing.service import in_scope, parse_period, payment_public
from service.dates import DateWindow, ImplausibleDate
from service.db import on_duplicate_raise
from service.money import fen_to_yuan, yuan_to_fen
from service.recorded import Recorded
from service.unit_of_work import UnitOfWork


async def pay(
    uow: UnitOfWork,
    *,
    principal: Principal,
    statement_id: int,
    body: ClearingPaymentCreate,
    window: DateWindow,
) -> Recorded[ClearingPaymentPublic]:
    """Record a payment; the same reference and body again is a replay.
    `paid_on` is the day the money moved: a day that has come, not before the floor, and not
    before the statement's month is over (a month is closed, and so paid, only after it)."""
    # The statement row is locked (FOR UPDATE; SQLite takes the write lock at BEGIN), so two
    # payments of one statement are judged one after the other.
    row = await uow.clearing.statement(statement_id, lock=True)
    if not in_scope(row, principal) or principal.role not in (Role.FUND, Role.ADMIN):
        raise StatementNotFound(f"no closed statement {statement_id} that you may pay")
    amount = yuan_to_fen(body.amount)
    earlier = await uow.clearing.payment_by_reference(
        fund_code=row.fund_code, reference=body.reference
    )
    if earlier is not None:
        same = (earlier.statement_id, earlier.amount_fen, earlier.paid_on) == (
            statement_id,
            amount,
            body.paid_on,
        )
        if same:
            return Recorded(payment_public(earlier), replayed=True)
        raise PaymentReferenceConflict(
            f"reference {body.reference} was used for another payment of {row.fund_code}",
            field="reference",
        )
    window.day(body.paid_on, field="paid_on")
    month = parse_period(row.period)
    if body.paid_on < month.end.date():
        raise ImplausibleDate(
            f"paid_on {body.paid_on} is before the end of {month}: a statement is closed, and "
            f"paid, once its month is over (from {month.end.date()} on)",
            field="paid_on",
        )
    owed = row.fund_own_fen
    paid = await uow.clearing.paid_fen(statement_id)
    if owed <= 0:
        raise NothingOwed(f"statement {statement_id} owes nothing ({fen_to_yuan(owed)})")
    if paid >= owed:
        raise StatementPaid(f"statement {statement_id} is paid ({fen_to_yuan(paid)})")
    if amount <= 0:
        raise InvalidPaymentAmount("a payment is more than 0.00", field="amount")
    if paid + amount > owed:
        raise Overpayment(
            f"{fen_to_yuan(amount)} is more than the {fen_to_yuan(owed - paid)} outstanding",
            field="amount",
        )
    payment = ClearingPayment(
        statement_id=statement_id,
        fund_code=row.fund_code,
        amount_fen=amount,
        paid_on=body.paid_on,
        reference=body.reference,
        recorded_by=principal.label[:64],
    )
    with on_duplicate_raise(
        PaymentReferenceConflict(
            # Twins on one statement wait on its lock; only another statement's payment gets here.
            f"reference {body.reference} was taken at the same moment by another payment of "
            f"{row.fund_code}; send this payment with its own reference",
            field="reference",
        )
    ):
        await uow.clearing.add_payment(payment)
    return Recorded(payment_public(payment), replayed=False)
