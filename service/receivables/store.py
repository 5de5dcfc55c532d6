"""All of receivables' SQL: the patient's share under pay-after-treatment, its payments,
instalments, reminders and defaulter marks, and the sums the indicators read.

Services reach it as `uow.receivables` (service/unit_of_work.py), written against the
`ReceivableStore` protocol; settlement cancels receivables through it in its own unit of work,
and opens them with the settlement itself (`OPEN`, `open_from`: the settlement's store writes
the share in the settlement's statement, ADR 0022). Unique violations become `service.db.Duplicate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth.principal import Principal
from service.auth.visibility import visible_to
from service.base import table_of
from service.db import add_once, insert_sql, rows_where, unless_duplicate
from service.driver import DriverStatement
from service.receivables.models import (
    DefaulterMark,
    Instalment,
    Receivable,
    ReceivablePayment,
    Reminder,
)
from service.receivables.terms import MARK_SOURCE
from service.settlements.models import Settlement, SettlementReversal
from service.violations.models import Violation

_receivables = table_of(Receivable)
# The patient's share is written by the settlement's store, with the settlement (ADR 0022):
# on SQLite this INSERT after it, with its id; on PostgreSQL `open_from` inside its statement.
OPEN = sa.insert(_receivables)


def open_from(settlement: str) -> tuple[str, list[sa.BindParameter[Any]]]:
    """The receivable's INSERT taking `settlement_id` from the row of the CTE named
    `settlement` (its `id`), other columns from parameters named `r_<column>`."""
    return insert_sql(
        _receivables,
        prefix="r_",
        select_from=settlement,
        given={"settlement_id": f"{settlement}.id"},
    )


# The last mark or unmark of a patient at a hospital. Every eligible admission asks; on
# PostgreSQL in the admission's own statement (admissions/store.py, ADR 0022), in this text.
LAST_MARK_SQL = (
    "SELECT action FROM defaulter_marks WHERE hospital_code = :hospital_code "
    "AND person_key = :person_key ORDER BY id DESC LIMIT 1"
)
LAST_MARK = sa.text(LAST_MARK_SQL)
_DRIVER_LAST_MARK = DriverStatement(LAST_MARK)
# Guarded moves of the one mutable row: each is a single statement, so PostgreSQL's row lock
# orders a payment and a cancellation of the same receivable, and the WHERE is re-checked on
# the row as the first of them left it.
_ADD_PAID = sa.text(
    "UPDATE receivables SET paid_fen = paid_fen + :amount, "
    "status = CASE WHEN paid_fen + :amount = amount_due_fen THEN 'paid' ELSE 'open' END "
    "WHERE id = :id AND status = 'open' AND paid_fen + :amount <= amount_due_fen "
    "RETURNING paid_fen"
)
_CANCEL = sa.text(
    "UPDATE receivables SET status = 'cancelled', reversal_id = :reversal_id, "
    "refund_due_fen = paid_fen, cancelled_at = :now "
    "WHERE settlement_id = :settlement_id AND status <> 'cancelled' "
    "RETURNING id, paid_fen"
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))


def _overdue(day: date) -> sa.ColumnElement[bool]:
    """status.overdue in SQL: never while the stay is not discharged (a stage's share, whose
    `due_on` is NULL); without a schedule in force, due before `day`; with one, its instalments
    due before `day` (a prefix: dates increase, payments cover them in order) add up to more
    than what was paid. A dropped schedule (its discharge reversed) is history only."""
    i, r = Instalment, Receivable
    in_force = (col(i.receivable_id) == col(r.id), col(i.dropped_at).is_(None))
    scheduled = sa.exists().where(*in_force)
    due_by_then = (
        sa.select(sa.func.coalesce(sa.func.sum(col(i.amount_fen)), 0))
        .where(*in_force, col(i.due_on) < day)
        .scalar_subquery()
    )
    return sa.and_(
        col(r.due_on).is_not(None),
        sa.or_(sa.and_(~scheduled, col(r.due_on) < day), due_by_then > col(r.paid_fen)),
    )


def _overdue_since(day: date) -> sa.ColumnElement[date]:
    """status.overdue's `since` in SQL, for a share `_overdue` holds overdue on `day`: the first
    due date it missed. Without a schedule in force, `due_on`; with one, the first instalment
    due before `day` that the payments (covering instalments in order) do not cover, i.e.
    whose running total is more than what was paid."""
    i, r = Instalment, Receivable
    earlier = aliased(Instalment)
    in_force = (col(i.receivable_id) == col(r.id), col(i.dropped_at).is_(None))
    through = (
        sa.select(sa.func.sum(col(earlier.amount_fen)))
        .where(
            col(earlier.receivable_id) == col(r.id),
            col(earlier.dropped_at).is_(None),
            col(earlier.seq) <= col(i.seq),
        )
        .scalar_subquery()
    )
    first_missed = (
        sa.select(sa.func.min(col(i.due_on)))
        .where(*in_force, col(i.due_on) < day, through > col(r.paid_fen))
        .scalar_subquery()
    )
    return sa.func.coalesce(first_missed, col(r.due_on))


# A stay settled in stages (ADR 0025): its stages' shares wait for the discharge, get it from
# the final settlement and lose it again with that settlement's reversal. Cancelled shares keep
# what they had: they are history.
_UNDISCHARGED = sa.select(_receivables.c.id, _receivables.c.terms).where(
    _receivables.c.settlement_id.in_(sa.bindparam("ids", expanding=True)),
    _receivables.c.due_on.is_(None),
    _receivables.c.status != "cancelled",
)
_SET_DISCHARGE = (
    sa.update(_receivables)
    .where(_receivables.c.id == sa.bindparam("rid"), _receivables.c.status != "cancelled")
    .values(discharged_at=sa.bindparam("at"), due_on=sa.bindparam("due"))
)
_CLEAR_DISCHARGE = (
    sa.update(_receivables)
    .where(
        _receivables.c.settlement_id.in_(sa.bindparam("ids", expanding=True)),
        _receivables.c.due_on.is_not(None),
        _receivables.c.status != "cancelled",
    )
    .values(discharged_at=None, due_on=None)
    .returning(_receivables.c.id)
)
_instalments = table_of(Instalment)
_DROP_SCHEDULES = (
    sa.update(_instalments)
    .where(
        _instalments.c.receivable_id.in_(sa.bindparam("ids", expanding=True)),
        _instalments.c.dropped_at.is_(None),
    )
    .values(dropped_at=sa.bindparam("now"), dropped_by=sa.bindparam("reversal_id"))
)


def _open_in_scope(
    principal: Principal, hospital_code: str | None, overdue_on: date | None
) -> list[sa.ColumnElement[bool]]:
    """Open receivables the principal may see (of one hospital if named; overdue that day if
    one is given)."""
    r = Receivable
    where = [
        col(r.status) == "open",
        *visible_to(principal, hospital_code=col(r.hospital_code), county_code=col(r.county_code)),
    ]
    if hospital_code is not None:
        where.append(col(r.hospital_code) == hospital_code)
    if overdue_on is not None:
        where.append(_overdue(overdue_on))
    return where


class ReceivableStore(Protocol):
    async def add(self, row: object) -> None:
        """Insert one row; `Duplicate` on a unique violation (a HIS payment id taken)."""
        ...

    async def add_all(self, rows: Sequence[object]) -> None:
        """Insert rows; `Duplicate` (and none added) on a unique violation (a schedule taken)."""
        ...

    async def get(self, receivable_id: int, *, lock: bool = False) -> Receivable | None:
        """The receivable; with `lock`, its row locked to the end of the transaction (FOR
        UPDATE; SQLite takes the write lock at BEGIN), so checks made after it see the
        writes of any request that held it before."""
        ...

    async def by_settlement(self, settlement_id: int) -> Receivable | None: ...

    async def add_paid(self, *, receivable_id: int, amount_fen: int) -> int | None:
        """The new paid total, or None if the receivable is not open or would be overpaid."""
        ...

    async def cancel(
        self, *, settlement_id: int, reversal_id: int, now: datetime
    ) -> tuple[int, int] | None: ...

    async def undischarged(self, settlement_ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
        """(id, terms) of these settlements' shares not cancelled and not yet due."""
        ...

    async def set_discharge(self, rows: Sequence[tuple[int, datetime, date]]) -> None:
        """Give each (id, discharge, due day) share not cancelled its stay's discharge."""
        ...

    async def clear_discharge(self, settlement_ids: Sequence[int]) -> list[int]:
        """Make these settlements' shares not cancelled not due again; their ids."""
        ...

    async def drop_schedules(
        self, receivable_ids: Sequence[int], *, reversal_id: int, now: datetime
    ) -> None:
        """Drop the schedules in force of these receivables (their discharge reversed)."""
        ...

    async def payment_by_his_id(
        self, *, hospital_code: str, his_payment_id: str
    ) -> ReceivablePayment | None: ...

    async def payments(self, receivable_id: int) -> list[ReceivablePayment]: ...

    async def instalments(self, receivable_id: int, *, dropped: bool = False) -> list[Instalment]:
        """The schedule in force, in order; with `dropped`, the schedules dropped with a
        reversed discharge, oldest first (history)."""
        ...

    async def reminders(self, receivable_id: int) -> list[Reminder]: ...

    async def marks(self, *, hospital_code: str, person_key: str) -> list[DefaulterMark]: ...

    async def is_marked(self, *, hospital_code: str, person_key: str) -> bool: ...

    async def open_receivables(
        self,
        *,
        principal: Principal,
        hospital_code: str | None,
        overdue_on: date | None,
        limit: int,
    ) -> list[Receivable]: ...

    async def open_after(
        self, *, principal: Principal, after_id: int, limit: int
    ) -> list[Receivable]:
        """Open receivables in scope with an id above `after_id`, by id: all of them, a page at
        a time (the indicators count every one)."""
        ...

    async def overdue_totals(
        self, *, principal: Principal, hospital_code: str | None, overdue_on: date
    ) -> tuple[int, int]:
        """(how many, fen outstanding) of every open receivable overdue that day in scope:
        what a page of `open_receivables` would add up to if it held them all."""
        ...

    async def instalments_for(
        self, receivable_ids: Sequence[int]
    ) -> dict[int, list[Instalment]]: ...

    async def mark_history(
        self, *, principal: Principal, hospital_code: str | None, limit: int
    ) -> list[DefaulterMark]: ...

    async def booked_by_marks(self, marks: Sequence[DefaulterMark]) -> dict[str, str]:
        """The rule code each of these marks booked in the ledger, by the mark's id as the
        ledger's `source_ref` names it."""
        ...

    async def eligible_admissions(
        self, *, principal: Principal, since: datetime, until: datetime
    ) -> list[tuple[str, str, int, int]]:
        """(hospital, county, eligible admissions, of which settled without a deposit)."""
        ...

    async def collected(
        self, *, principal: Principal, since: datetime, until: datetime
    ) -> list[tuple[str, str, int, int]]:
        """(hospital, county, patient shares due, paid) of receivables not cancelled."""
        ...


class SqlReceivableStore:
    """ReceivableStore, over the unit of work's session."""

    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: object) -> None:
        await add_once(self._session, row)

    async def add_all(self, rows: Sequence[object]) -> None:
        async with unless_duplicate(self._session):
            self._session.add_all(rows)
            await self._session.flush()

    async def get(self, receivable_id: int, *, lock: bool = False) -> Receivable | None:
        query = select(Receivable).where(Receivable.id == receivable_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.exec(query.execution_options(populate_existing=True))).first()

    async def by_settlement(self, settlement_id: int) -> Receivable | None:
        query = select(Receivable).where(Receivable.settlement_id == settlement_id)
        return (await self._session.exec(query.execution_options(populate_existing=True))).first()

    async def add_paid(self, *, receivable_id: int, amount_fen: int) -> int | None:
        """The new paid total, or None if the receivable is not open or would be overpaid."""
        conn = await self._session.connection()
        row = (await conn.execute(_ADD_PAID, {"id": receivable_id, "amount": amount_fen})).first()
        return None if row is None else int(row[0])

    async def cancel(
        self, *, settlement_id: int, reversal_id: int, now: datetime
    ) -> tuple[int, int] | None:
        """Cancel the settlement's receivable: (id, what was paid), or None if it has none."""
        conn = await self._session.connection()
        params = {"settlement_id": settlement_id, "reversal_id": reversal_id, "now": now}
        row = (await conn.execute(_CANCEL, params)).first()
        return None if row is None else (int(row[0]), int(row[1]))

    async def undischarged(self, settlement_ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
        conn = await self._session.connection()
        rows = await conn.execute(_UNDISCHARGED, {"ids": list(settlement_ids)})
        return [(int(rid), dict(terms)) for rid, terms in rows]

    async def set_discharge(self, rows: Sequence[tuple[int, datetime, date]]) -> None:
        if rows:
            conn = await self._session.connection()
            params = [{"rid": rid, "at": at, "due": due} for rid, at, due in rows]
            await conn.execute(_SET_DISCHARGE, params)

    async def clear_discharge(self, settlement_ids: Sequence[int]) -> list[int]:
        conn = await self._session.connection()
        rows = await conn.execute(_CLEAR_DISCHARGE, {"ids": list(settlement_ids)})
        return [int(rid) for (rid,) in rows]

    async def drop_schedules(
        self, receivable_ids: Sequence[int], *, reversal_id: int, now: datetime
    ) -> None:
        if receivable_ids:
            conn = await self._session.connection()
            params = {"ids": list(receivable_ids), "reversal_id": reversal_id, "now": now}
            await conn.execute(_DROP_SCHEDULES, params)

    async def payment_by_his_id(
        self, *, hospital_code: str, his_payment_id: str
    ) -> ReceivablePayment | None:
        query = select(ReceivablePayment).where(
            ReceivablePayment.hospital_code == hospital_code,
            ReceivablePayment.his_payment_id == his_payment_id,
        )
        return (await self._session.exec(query)).first()

    async def payments(self, receivable_id: int) -> list[ReceivablePayment]:
        p = ReceivablePayment
        return await rows_where(self._session, p, p.receivable_id == receivable_id, order_by=p.id)

    async def instalments(self, receivable_id: int, *, dropped: bool = False) -> list[Instalment]:
        i = Instalment
        at = col(i.dropped_at)
        return await rows_where(
            self._session,
            i,
            i.receivable_id == receivable_id,
            at.is_not(None) if dropped else at.is_(None),
            order_by=i.id if dropped else i.seq,
        )

    async def reminders(self, receivable_id: int) -> list[Reminder]:
        r = Reminder
        return await rows_where(self._session, r, r.receivable_id == receivable_id, order_by=r.id)

    async def marks(self, *, hospital_code: str, person_key: str) -> list[DefaulterMark]:
        """A person's marks at a hospital, oldest first: the last one is in force."""
        m = DefaulterMark
        return await rows_where(
            self._session,
            m,
            m.hospital_code == hospital_code,
            m.person_key == person_key,
            order_by=m.id,
        )

    async def is_marked(self, *, hospital_code: str, person_key: str) -> bool:
        # Core, on PostgreSQL on the driver: every eligible admission asks (ADR 0008, 0022)
        conn = await self._session.connection()
        params = {"hospital_code": hospital_code, "person_key": person_key}
        if conn.dialect.name == "postgresql":
            return bool(await _DRIVER_LAST_MARK.scalar(conn, params) == "mark")
        return (await conn.execute(LAST_MARK, params)).scalar() == "mark"

    async def open_receivables(
        self,
        *,
        principal: Principal,
        hospital_code: str | None,
        overdue_on: date | None,
        limit: int,
    ) -> list[Receivable]:
        """Open receivables, earliest due first; with `overdue_on`, only those overdue that day
        (in SQL, so a page is a page of overdue ones, not of open ones filtered afterwards),
        most overdue first: by the first due date missed (an instalment's where a schedule is in
        force, as `days_overdue` counts it), then by id, so the order is total."""
        r = Receivable
        query = select(r).where(*_open_in_scope(principal, hospital_code, overdue_on))
        first = col(r.due_on) if overdue_on is None else _overdue_since(overdue_on)
        query = query.order_by(first, col(r.id)).limit(limit)
        return list((await self._session.exec(query)).all())

    async def overdue_totals(
        self, *, principal: Principal, hospital_code: str | None, overdue_on: date
    ) -> tuple[int, int]:
        r = Receivable
        query = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(col(r.amount_due_fen) - col(r.paid_fen)), 0),
        ).where(*_open_in_scope(principal, hospital_code, overdue_on))
        conn = await self._session.connection()
        count, outstanding = (await conn.execute(query)).one()
        return int(count), int(outstanding)

    async def open_after(
        self, *, principal: Principal, after_id: int, limit: int
    ) -> list[Receivable]:
        r = Receivable
        query = (
            select(r)
            .where(*_open_in_scope(principal, None, None), col(r.id) > after_id)
            .order_by(col(r.id))
            .limit(limit)
        )
        return list((await self._session.exec(query)).all())

    async def instalments_for(self, receivable_ids: Sequence[int]) -> dict[int, list[Instalment]]:
        if not receivable_ids:
            return {}
        query = (
            select(Instalment)
            .where(col(Instalment.receivable_id).in_(receivable_ids))
            .where(col(Instalment.dropped_at).is_(None))
            .order_by(col(Instalment.receivable_id), col(Instalment.seq))
        )
        out: dict[int, list[Instalment]] = {}
        for row in (await self._session.exec(query)).all():
            out.setdefault(row.receivable_id, []).append(row)
        return out

    async def mark_history(
        self, *, principal: Principal, hospital_code: str | None, limit: int
    ) -> list[DefaulterMark]:
        m = DefaulterMark
        query = select(m).where(
            *visible_to(
                principal, hospital_code=col(m.hospital_code), county_code=col(m.county_code)
            )
        )
        if hospital_code is not None:
            query = query.where(col(m.hospital_code) == hospital_code)
        query = query.order_by(col(m.id).desc()).limit(limit)
        return list((await self._session.exec(query)).all())

    async def booked_by_marks(self, marks: Sequence[DefaulterMark]) -> dict[str, str]:
        booking = [m for m in marks if m.action == "mark"]
        if not booking:
            return {}
        v = Violation
        query = select(col(v.source_ref), col(v.rule_code)).where(
            # the person's findings first (indexed), then the marks' own among them
            col(v.person_key).in_({m.person_key for m in booking}),
            col(v.source) == MARK_SOURCE,
            col(v.source_ref).in_([str(m.id) for m in booking]),
        )
        return {str(ref): rule for ref, rule in (await self._session.exec(query)).all()}

    async def eligible_admissions(
        self, *, principal: Principal, since: datetime, until: datetime
    ) -> list[tuple[str, str, int, int]]:
        a = Admission
        active = (
            sa.exists()
            .where(col(Settlement.admission_id) == col(a.id))
            .where(~sa.exists().where(col(SettlementReversal.settlement_id) == col(Settlement.id)))
        )
        settled = sa.and_(active, col(a.deposit_taken_fen) == 0)
        query = (
            select(
                col(a.hospital_code),
                col(a.county_code),
                sa.func.count(),
                sa.func.sum(sa.case((settled, 1), else_=0)),
            )
            .where(col(a.eligible).is_(True))
            .where(col(a.admitted_at) >= since, col(a.admitted_at) < until)
            .where(
                *visible_to(
                    principal, hospital_code=col(a.hospital_code), county_code=col(a.county_code)
                )
            )
            .group_by(col(a.hospital_code), col(a.county_code))
        )
        rows = (await self._session.exec(query)).all()
        return [(h, c, int(n), int(k or 0)) for h, c, n, k in rows]

    async def collected(
        self, *, principal: Principal, since: datetime, until: datetime
    ) -> list[tuple[str, str, int, int]]:
        r = Receivable
        query = (
            select(
                col(r.hospital_code),
                col(r.county_code),
                sa.func.sum(r.amount_due_fen),
                sa.func.sum(r.paid_fen),
            )
            .where(col(r.status) != "cancelled")
            .where(col(r.discharged_at) >= since, col(r.discharged_at) < until)
            .where(
                *visible_to(
                    principal, hospital_code=col(r.hospital_code), county_code=col(r.county_code)
                )
            )
            .group_by(col(r.hospital_code), col(r.county_code))
        )
        rows = (await self._session.exec(query)).all()
        return [(h, c, int(due or 0), int(paid or 0)) for h, c, due, paid in rows]
