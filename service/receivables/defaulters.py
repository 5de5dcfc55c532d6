"""恶意拖欠: a hospital marks a person as a defaulter on an overdue receivable, after the
policy's grace period; without the policy's number of reminders the mark is still recorded
(it is the hospital's decision) but booked as DEFAULTER_WITHOUT_REMINDERS for the auditors.
A mark is lifted by a new row (unmark), never by an edit: the history stays."""

from __future__ import annotations

from decimal import Decimal

from service.auth import Principal, Role
from service.dates import DateWindow
from service.receivables.errors import (
    AlreadyMarked,
    NotMarked,
    ReceivableCancelled,
    ReceivablePaid,
    TooEarlyToMark,
)
from service.receivables.models import DefaulterMark, Receivable
from service.receivables.schemas import MarkCreate, MarkPublic
from service.receivables.service import (
    book_finding,
    in_the_ward,
    reminders_counted,
    today_in_china,
    visible,
)
from service.receivables.status import overdue
from service.receivables.terms import DEFAULTER_WITHOUT_REMINDERS, MARK_SOURCE, Terms
from service.unit_of_work import UnitOfWork


def _public(row: DefaulterMark, booked: str | None = None) -> MarkPublic:
    public = MarkPublic.model_validate(row, from_attributes=True)
    return public.model_copy(update={"violation_booked": booked})


async def mark(
    uow: UnitOfWork,
    *,
    principal: Principal,
    receivable_id: int,
    body: MarkCreate,
    window: DateWindow,
) -> MarkPublic:
    # Locked: a twin of this request (a double click) waits, then finds the mark and is a 409,
    # so one person-time is marked, and booked, once.
    row = await visible(uow, principal, receivable_id, lock=True)
    assert row.id is not None
    if row.status == "cancelled":
        raise ReceivableCancelled(f"receivable {receivable_id} was cancelled: nothing is owed")
    if row.status == "paid":
        raise ReceivablePaid(f"receivable {receivable_id} is paid in full: nothing is owed")
    if row.discharged_at is None:
        raise in_the_ward(row, "no defaulter mark before it")
    if await uow.receivables.is_marked(hospital_code=row.hospital_code, person_key=row.person_key):
        raise AlreadyMarked(f"{row.person_masked} is marked already at {row.hospital_code}")
    today = today_in_china()
    late = overdue(row, await uow.receivables.instalments(row.id), today)
    terms = Terms.of(row.terms)
    if late.since is None or today < terms.may_mark_from(late.since):
        start = "not overdue" if late.since is None else f"from {terms.may_mark_from(late.since)}"
        raise TooEarlyToMark(
            f"receivable {receivable_id} may be marked only after its grace period ({start})"
        )
    mark_row = await _record(uow, row, principal, "mark", body, window)
    booked = None
    if mark_row.reminders_sent < terms.reminders_required:
        await _book(uow, row, mark_row, terms)
        booked = DEFAULTER_WITHOUT_REMINDERS
    return _public(mark_row, booked)


async def unmark(
    uow: UnitOfWork,
    *,
    principal: Principal,
    receivable_id: int,
    body: MarkCreate,
    window: DateWindow,
) -> MarkPublic:
    row = await visible(uow, principal, receivable_id, lock=True)
    if not await uow.receivables.is_marked(
        hospital_code=row.hospital_code, person_key=row.person_key
    ):
        raise NotMarked(f"{row.person_masked} is not marked at {row.hospital_code}")
    return _public(await _record(uow, row, principal, "unmark", body, window))


async def _record(
    uow: UnitOfWork,
    row: Receivable,
    principal: Principal,
    action: str,
    body: MarkCreate,
    window: DateWindow,
) -> DefaulterMark:
    """The caller's mark or unmark, stored with the reminders sent for the receivable so far."""
    assert row.id is not None
    sent = reminders_counted(row, await uow.receivables.reminders(row.id), window)
    mark_row = _row(row, principal.label, action, body.reason, sent)
    await uow.receivables.add(mark_row)
    return mark_row


CANCELLED = "应收款因结算撤销而作废 (the receivable was cancelled by the settlement's reversal)"


async def lift_with_its_receivable(
    uow: UnitOfWork, receivable_id: int, *, reason: str = CANCELLED
) -> None:
    """A mark rests on the receivable it was made on. When that receivable is cancelled (its
    settlement reversed), or no longer due (its stay's discharge reversed), the mark in force on
    it is lifted, recorded as an unmark by the reversal: a patient who owes nothing yet is not
    refused pay-after-treatment."""
    row = await uow.receivables.get(receivable_id)
    assert row is not None
    marks = await uow.receivables.marks(hospital_code=row.hospital_code, person_key=row.person_key)
    if not marks or marks[-1].action != "mark" or marks[-1].receivable_id != receivable_id:
        return
    # The reversal has no plausible window of its own (and a reopened share has no discharge
    # for reminders to count from): the unmark repeats the count of the mark it lifts.
    sent = marks[-1].reminders_sent
    await uow.receivables.add(_row(row, "settlement reversal", "unmark", reason, sent))


def _row(row: Receivable, actor: str, action: str, reason: str, sent: int) -> DefaulterMark:
    """A mark on the receivable's person at its hospital, named as the receivable names them."""
    return DefaulterMark.model_validate(
        row.model_dump(include={"hospital_code", "county_code", "person_key", "person_masked"})
        | {
            "receivable_id": row.id,
            "action": action,
            "reason": reason,
            "reminders_sent": sent,
            "actor": actor[:64],
        }
    )


async def _book(uow: UnitOfWork, row: Receivable, mark_row: DefaulterMark, terms: Terms) -> None:
    await book_finding(
        uow,
        row,
        rule_code=DEFAULTER_WITHOUT_REMINDERS,
        source=MARK_SOURCE,
        source_ref=str(mark_row.id),
        evidence={
            "receivable_id": row.id,
            "reminders_sent": mark_row.reminders_sent,
            "reminders_required": terms.reminders_required,
            "reason": mark_row.reason,
        },
        points=Decimal(terms.defaulter_points),
    )


async def history(
    uow: UnitOfWork, *, principal: Principal, hospital_code: str | None, limit: int
) -> list[MarkPublic]:
    """Who was marked (and unmarked) by whom and when, newest first."""
    if principal.role is Role.HOSPITAL:
        hospital_code = principal.hospital_code
    rows = await uow.receivables.mark_history(
        principal=principal, hospital_code=hospital_code, limit=limit
    )
    booked = await uow.receivables.booked_by_marks(rows)
    return [_public(r, booked.get(str(r.id))) for r in rows]
