"""Reading receivables, payments against them, instalment schedules and reminders.

Services take the unit of work and reach their rows through `uow.receivables`; they never
commit (the unit of work does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from service.auth import Principal, Role
from service.base import utcnow
from service.china_time import local_date, shown
from service.dates import FILTER_LAST_DAY, DateWindow, ImplausibleDate
from service.money import fen_to_yuan, yuan_to_fen
from service.receivables.errors import (
    InvalidPayment,
    InvalidSchedule,
    PaymentConflict,
    PaymentExceedsDue,
    ReceivableCancelled,
    ReceivableNotFound,
    ReceivablePaid,
    ScheduleAfterDueDate,
    ScheduleExists,
    StayNotDischarged,
)
from service.receivables.models import Instalment, Receivable, ReceivablePayment, Reminder
from service.receivables.schemas import (
    DroppedInstalmentPublic,
    InstalmentPublic,
    OverdueSummary,
    ReceivablePaymentCreate,
    ReceivablePaymentPublic,
    ReceivablePublic,
    ReminderCreate,
    ReminderPublic,
    ScheduleCreate,
)
from service.receivables.status import overdue
from service.receivables.terms import PREPAYMENT_DEMANDED, Terms
from service.recorded import Recorded
from service.unit_of_work import UnitOfWork
from service.violations.ledger import Finding


def today_in_china(now: datetime | None = None) -> date:
    return local_date(now or utcnow())


async def visible(
    uow: UnitOfWork, principal: Principal, receivable_id: int, *, lock: bool = False
) -> Receivable:
    row = await uow.receivables.get(receivable_id, lock=lock)
    if row is None or not principal.sees_hospital(row.hospital_code, row.county_code):
        raise ReceivableNotFound(f"no receivable {receivable_id} that you may see")
    return row


async def public(
    uow: UnitOfWork, row: Receivable, *, today: date, detail: bool = True
) -> ReceivablePublic:
    assert row.id is not None
    schedule = await uow.receivables.instalments(row.id)
    late = overdue(row, schedule, today)
    terms = Terms.of(row.terms)
    by_seq = {seq: (covered, is_late) for seq, covered, is_late in late.instalments}
    return ReceivablePublic.model_validate(
        row.model_dump()
        | {
            "amount_due": fen_to_yuan(row.amount_due_fen),
            "paid": fen_to_yuan(row.paid_fen),
            "outstanding": fen_to_yuan(
                row.amount_due_fen - row.paid_fen if row.status == "open" else 0
            ),
            "overdue": late.since is not None,
            "overdue_since": late.since,
            "days_overdue": late.days(today),
            "may_mark_defaulter_from": None
            if late.since is None
            else terms.may_mark_from(late.since),
            "refund_due": fen_to_yuan(row.refund_due_fen),
            "defaulter": await uow.receivables.is_marked(
                hospital_code=row.hospital_code, person_key=row.person_key
            ),
            "instalments": [
                InstalmentPublic(
                    seq=i.seq,
                    due_on=i.due_on,
                    amount=fen_to_yuan(i.amount_fen),
                    covered=fen_to_yuan(by_seq.get(i.seq, (0, False))[0]),
                    overdue=by_seq.get(i.seq, (0, False))[1],
                )
                for i in schedule
            ],
            "dropped_instalments": [
                DroppedInstalmentPublic.model_validate(
                    i.model_dump() | {"amount": fen_to_yuan(i.amount_fen)}
                )
                for i in await uow.receivables.instalments(row.id, dropped=True)
            ]
            if detail
            else [],
            "payments": [_payment_out(p) for p in await uow.receivables.payments(row.id)]
            if detail
            else [],
            "reminders": [
                ReminderPublic.model_validate(r, from_attributes=True)
                for r in await uow.receivables.reminders(row.id)
            ]
            if detail
            else [],
        }
    )


def _payment_out(p: ReceivablePayment) -> ReceivablePaymentPublic:
    return ReceivablePaymentPublic.model_validate(
        p.model_dump() | {"amount": fen_to_yuan(p.amount_fen)}
    )


async def get(
    uow: UnitOfWork, *, principal: Principal, receivable_id: int, today: date | None = None
) -> ReceivablePublic:
    row = await visible(uow, principal, receivable_id)
    return await public(uow, row, today=today or today_in_china())


async def for_settlement(
    uow: UnitOfWork, *, principal: Principal, settlement_id: int
) -> ReceivablePublic | None:
    row = await uow.receivables.by_settlement(settlement_id)
    if row is None or not principal.sees_hospital(row.hospital_code, row.county_code):
        return None
    return await public(uow, row, today=today_in_china())


async def pay(
    uow: UnitOfWork,
    *,
    principal: Principal,
    receivable_id: int,
    body: ReceivablePaymentCreate,
    window: DateWindow,
) -> Recorded[ReceivablePublic]:
    """Record a payment of the patient's share; the same HIS payment id again is a
    replay. A payment is an event: `paid_at` lies in the plausible
    window (ADR 0012), or a year-1900 payment would be booked as demanded before discharge.
    A twin of this request that committed first (the HIS retried at once) is answered from,
    as a replay: the work runs again and finds it."""

    async def work() -> Recorded[ReceivablePublic]:
        hospital_code = principal.hospital_code or ""
        row = await visible(uow, principal, receivable_id)
        amount = yuan_to_fen(body.amount)
        earlier = await uow.receivables.payment_by_his_id(
            hospital_code=hospital_code, his_payment_id=body.his_payment_id
        )
        if earlier is not None:
            return await _replay(uow, row, earlier, body, amount)
        window.moment(body.paid_at, field="paid_at")
        if amount <= 0:
            raise InvalidPayment("a payment is more than 0.00", field="amount")
        assert row.id is not None
        if await uow.receivables.add_paid(receivable_id=row.id, amount_fen=amount) is None:
            await _refuse(uow, row.id, amount)
        payment = _payment_row(row.id, hospital_code, principal, body, amount)
        await uow.receivables.add(payment)  # Duplicate: a twin committed first (on_duplicate)
        # Read after the guarded UPDATE, which waited for any final settlement dating a stage's
        # share meanwhile: judged on the stay's discharge as committed, not as first read.
        fresh = await uow.receivables.get(row.id)
        assert fresh is not None
        # The till and the HIS keep different clocks: a payment stamped within the clock skew
        # before the discharge is the payment at discharge, as a reminder is judged (ADR 0014).
        if fresh.discharged_at is None or body.paid_at < fresh.discharged_at - window.clock_skew:
            await _book_prepayment(uow, fresh, payment)
        return Recorded(await public(uow, fresh, today=today_in_china()), replayed=False)

    return await uow.run(work, on_duplicate=work)


def _payment_row(
    receivable_id: int,
    hospital_code: str,
    principal: Principal,
    body: ReceivablePaymentCreate,
    amount: int,
) -> ReceivablePayment:
    return ReceivablePayment.model_validate(
        body,
        from_attributes=True,
        update={
            "receivable_id": receivable_id,
            "hospital_code": hospital_code,
            "amount_fen": amount,
            "paid_at": body.paid_at.astimezone(UTC),  # as read back: a replay answers the same
            "recorded_by": principal.label[:64],
        },
    )


async def _replay(
    uow: UnitOfWork,
    row: Receivable,
    earlier: ReceivablePayment,
    body: ReceivablePaymentCreate,
    amount: int,
) -> Recorded[ReceivablePublic]:
    same = (earlier.receivable_id, earlier.amount_fen, earlier.method, earlier.receipt_no) == (
        row.id,
        amount,
        body.method,
        body.receipt_no,
    ) and earlier.paid_at == body.paid_at
    if not same:
        raise PaymentConflict(
            f"HIS payment {body.his_payment_id} was recorded with other values",
            field="his_payment_id",
        )
    # Read again: the receivable was read before the payment, and the payment's transaction
    # may have committed in between (a twin racing this one): answer with what it left.
    assert row.id is not None
    fresh = await uow.receivables.get(row.id)
    assert fresh is not None
    return Recorded(await public(uow, fresh, today=today_in_china()), replayed=True)


async def _refuse(uow: UnitOfWork, receivable_id: int, amount: int) -> None:
    row = await uow.receivables.get(receivable_id)
    assert row is not None
    if row.status == "cancelled":
        raise ReceivableCancelled(
            f"receivable {receivable_id} was cancelled by the settlement's reversal; "
            f"{fen_to_yuan(row.refund_due_fen)} paid before it is to be refunded"
        )
    if row.status == "paid":
        raise ReceivablePaid(f"receivable {receivable_id} is paid in full")
    left = row.amount_due_fen - row.paid_fen
    raise PaymentExceedsDue(
        f"{fen_to_yuan(amount)} is more than the {fen_to_yuan(left)} still due", field="amount"
    )


async def book_finding(
    uow: UnitOfWork,
    row: Receivable,
    *,
    rule_code: str,
    source: str,
    source_ref: str,
    evidence: dict[str, Any],
    points: Decimal,
    event_on: date | None = None,
) -> None:
    """Book a broken rule found on the receivable, against its hospital, visit and person;
    `event_on` the day it happened (ADR 0018), when that is not the day it is booked."""
    await uow.violations.book(
        Finding(
            rule_code=rule_code,
            hospital_code=row.hospital_code,
            county_code=row.county_code,
            source=source,
            source_ref=source_ref,
            evidence=evidence,
            points=points,
            visit_id=row.visit_id,
            person_key=row.person_key,
            person_masked=row.person_masked,
            event_on=event_on,
        ),
    )


async def _book_prepayment(uow: UnitOfWork, row: Receivable, payment: ReceivablePayment) -> None:
    """先诊疗后付费: a payment taken before discharge is a payment demanded up front (a stage's
    share paid while the patient is still in the ward too: its discharge is None)."""
    terms = Terms.of(row.terms)
    await book_finding(
        uow,
        row,
        rule_code=PREPAYMENT_DEMANDED,
        source="receivable",
        source_ref=str(row.id),
        evidence={
            "receivable_id": row.id,
            "his_payment_id": payment.his_payment_id,
            "amount": fen_to_yuan(payment.amount_fen),
            "paid_at": payment.paid_at.isoformat(),
            "discharged_at": None if row.discharged_at is None else row.discharged_at.isoformat(),
        },
        points=Decimal(terms.prepayment_points),
        event_on=local_date(payment.paid_at),  # the payment, however late it is recorded
    )


async def agree_schedule(
    uow: UnitOfWork, *, principal: Principal, receivable_id: int, body: ScheduleCreate
) -> Recorded[ReceivablePublic]:
    """分期付款: the schedule agreed at discharge, once. The same schedule again is a replay. A
    schedule stored at the same moment by another request is read and judged as before: the
    same one a replay, another one ScheduleExists."""

    async def work() -> Recorded[ReceivablePublic]:
        return await _agree(uow, principal=principal, receivable_id=receivable_id, body=body)

    return await uow.run(work, on_duplicate=work)


async def _agree(
    uow: UnitOfWork, *, principal: Principal, receivable_id: int, body: ScheduleCreate
) -> Recorded[ReceivablePublic]:
    row = await visible(uow, principal, receivable_id)
    assert row.id is not None
    parts = [(p.due_on, yuan_to_fen(p.amount)) for p in body.instalments]
    existing = await uow.receivables.instalments(row.id)
    if existing:
        if [(i.due_on, i.amount_fen) for i in existing] == parts:
            return Recorded(await public(uow, row, today=today_in_china()), replayed=True)
        raise ScheduleExists(f"receivable {receivable_id} has a schedule already")
    if row.status == "cancelled":
        raise ReceivableCancelled(f"receivable {receivable_id} was cancelled")
    # The schedule is agreed at discharge (分期付款 under 先诊疗后付费): a stage's share gets
    # one once the stay is discharged, its dates after that discharge.
    if row.discharged_at is None:
        raise in_the_ward(row, "no schedule is agreed before the discharge")
    if row.status == "paid":
        raise ReceivablePaid(f"receivable {receivable_id} is paid in full: nothing to schedule")
    _before_due(row, today_in_china())
    _check_schedule(row, row.discharged_at, parts)
    await uow.receivables.add_all(
        [
            Instalment(receivable_id=row.id, seq=n, due_on=due, amount_fen=fen)
            for n, (due, fen) in enumerate(parts, start=1)
        ],
    )
    return Recorded(await public(uow, row, today=today_in_china()), replayed=False)


def in_the_ward(row: Receivable, what: str) -> StayNotDischarged:
    """A stage's share, its stay not yet discharged: `what` cannot be done with it yet."""
    return StayNotDischarged(
        f"receivable {row.id} is a stage's share of visit {row.visit_id}, still in hospital: "
        f"it falls due from the stay's discharge (the final settlement); {what}"
    )


def _before_due(row: Receivable, today: date) -> None:
    """分期付款 is agreed at discharge, by the day the share falls due (China time). Once it is
    overdue, a schedule would make it not overdue: the overdue days would leave the reports
    and the defaulter's grace period would start again from the new dates (ADR 0014)."""
    since = overdue(row, (), today).since
    if since is not None:
        raise ScheduleAfterDueDate(
            f"receivable {row.id} fell due on {since.isoformat()} and is overdue: a schedule "
            "is agreed at discharge, by the due date; collect the share, remind the patient "
            f"or mark a defaulter from {Terms.of(row.terms).may_mark_from(since).isoformat()}"
        )


def _check_schedule(
    row: Receivable, discharged_at: datetime, parts: list[tuple[date, int]]
) -> None:
    discharged = local_date(discharged_at)
    for n, (due, fen) in enumerate(parts):
        if fen <= 0:
            raise InvalidSchedule(
                "every instalment is more than 0.00", field=f"instalments.{n}.amount"
            )
        if due > FILTER_LAST_DAY:
            raise ImplausibleDate(
                f"an instalment is due by {FILTER_LAST_DAY.isoformat()}",
                field=f"instalments.{n}.due_on",
            )
        if due < discharged or (n and due <= parts[n - 1][0]):
            raise InvalidSchedule(
                "instalment dates are after discharge and strictly increasing",
                field=f"instalments.{n}.due_on",
            )
    total = sum(fen for _, fen in parts)
    if total != row.amount_due_fen:
        raise InvalidSchedule(
            f"the instalments add up to {fen_to_yuan(total)}, "
            f"the share is {fen_to_yuan(row.amount_due_fen)}",
            field="instalments",
        )


async def remind(
    uow: UnitOfWork,
    *,
    principal: Principal,
    receivable_id: int,
    body: ReminderCreate,
    window: DateWindow,
) -> Recorded[ReceivablePublic]:
    """催缴: a reminder sent (an event, in the plausible window and not before the share was
    owed: it counts towards the reminders a defaulter mark needs). A reminder has no HIS id:
    the same channel at the same instant is the same reminder, so a retried request is
    answered as before and counts once (the receivable is held meanwhile, so two copies at
    once cannot both be stored)."""
    row = await visible(uow, principal, receivable_id, lock=True)
    window.moment(body.sent_at, field="sent_at")
    if row.discharged_at is None and row.status != "cancelled":
        raise in_the_ward(row, "nothing to remind yet")
    if row.discharged_at is not None and body.sent_at < row.discharged_at - window.clock_skew:
        raise ImplausibleDate(
            f"sent_at is before the discharge at {shown(row.discharged_at)}",
            field="sent_at",
        )
    assert row.id is not None
    if row.status == "cancelled":
        raise ReceivableCancelled(f"receivable {receivable_id} was cancelled: nothing to remind")
    if row.status != "open":
        raise ReceivablePaid(f"receivable {receivable_id} is {row.status}: nothing to remind")
    sent_at = body.sent_at.astimezone(UTC)
    if (body.channel, sent_at) in distinct_reminders(await uow.receivables.reminders(row.id)):
        return Recorded(await public(uow, row, today=today_in_china()), replayed=True)
    await uow.receivables.add(
        Reminder(
            receivable_id=row.id,
            channel=body.channel,
            sent_at=sent_at,
            recorded_by=principal.label[:64],
        ),
    )
    return Recorded(await public(uow, row, today=today_in_china()), replayed=False)


def distinct_reminders(reminders: Sequence[Reminder]) -> set[tuple[str, datetime]]:
    """The reminders sent: one per channel and instant (a copy stored before replays were
    recognised is one). `sent_at` reads back as aware UTC (`UTCDateTime`)."""
    return {(r.channel, r.sent_at) for r in reminders}


def reminders_counted(row: Receivable, reminders: Sequence[Reminder], window: DateWindow) -> int:
    """The reminders that count towards a defaulter mark: those of the share as its current
    discharge dates it, i.e. the ones `remind` would accept now (not before the discharge,
    within the clocks' skew). A stage's share keeps the reminders sent on a final settlement
    since reversed, as history; they reminded the patient of a debt the corrected final dates
    later, so they do not count (ADR 0025). A share not discharged has none that count."""
    if row.discharged_at is None:
        return 0
    since = row.discharged_at - window.clock_skew
    return sum(1 for _, sent_at in distinct_reminders(reminders) if sent_at >= since)


async def overdue_list(
    uow: UnitOfWork,
    *,
    principal: Principal,
    hospital_code: str | None,
    limit: int,
    today: date | None = None,
) -> OverdueSummary:
    """逾期清单: open receivables past their due date or with an instalment past due."""
    day = today or today_in_china()
    if principal.role is Role.HOSPITAL and hospital_code is None:
        # its own list by default; another hospital's code is a filter like any other, which
        # scope leaves empty (it answered the caller's own list under the caller's code)
        hospital_code = principal.hospital_code
    rows = await uow.receivables.open_receivables(
        principal=principal, hospital_code=hospital_code, overdue_on=day, limit=limit
    )
    late = [await public(uow, row, today=day, detail=False) for row in rows]
    # The count and the amount are of every overdue share in scope, not of the page's.
    count, outstanding = await uow.receivables.overdue_totals(
        principal=principal, hospital_code=hospital_code, overdue_on=day
    )
    return OverdueSummary(
        hospital_code=hospital_code,
        count=count,
        outstanding=fen_to_yuan(outstanding),
        oldest_days=max((r.days_overdue for r in late), default=0),
        receivables=late,
    )
