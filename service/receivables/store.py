"""All of receivables' SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.receivables.models import (
    DefaulterMark,
    Instalment,
    Receivable,
    ReceivablePayment,
    Reminder,
)

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


async def add(session: AsyncSession, row: object) -> None:
    session.add(row)
    await session.flush()


async def add_all(session: AsyncSession, rows: Sequence[object]) -> None:
    session.add_all(rows)
    await session.flush()


async def get(session: AsyncSession, receivable_id: int) -> Receivable | None:
    query = select(Receivable).where(Receivable.id == receivable_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def by_settlement(session: AsyncSession, settlement_id: int) -> Receivable | None:
    query = select(Receivable).where(Receivable.settlement_id == settlement_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def add_paid(session: AsyncSession, *, receivable_id: int, amount_fen: int) -> int | None:
    """The new paid total, or None if the receivable is not open or would be overpaid."""
    conn = await session.connection()
    row = (await conn.execute(_ADD_PAID, {"id": receivable_id, "amount": amount_fen})).first()
    return None if row is None else int(row[0])


async def cancel(
    session: AsyncSession, *, settlement_id: int, reversal_id: int, now: datetime
) -> tuple[int, int] | None:
    """Cancel the settlement's receivable: (id, what was paid), or None if it has none."""
    conn = await session.connection()
    params = {"settlement_id": settlement_id, "reversal_id": reversal_id, "now": now}
    row = (await conn.execute(_CANCEL, params)).first()
    return None if row is None else (int(row[0]), int(row[1]))


async def payment_by_his_id(
    session: AsyncSession, *, hospital_code: str, his_payment_id: str
) -> ReceivablePayment | None:
    query = select(ReceivablePayment).where(
        ReceivablePayment.hospital_code == hospital_code,
        ReceivablePayment.his_payment_id == his_payment_id,
    )
    return (await session.exec(query)).first()


async def payments(session: AsyncSession, receivable_id: int) -> list[ReceivablePayment]:
    query = (
        select(ReceivablePayment)
        .where(ReceivablePayment.receivable_id == receivable_id)
        .order_by(col(ReceivablePayment.id))
    )
    return list((await session.exec(query)).all())


async def instalments(session: AsyncSession, receivable_id: int) -> list[Instalment]:
    query = (
        select(Instalment)
        .where(Instalment.receivable_id == receivable_id)
        .order_by(col(Instalment.seq))
    )
    return list((await session.exec(query)).all())


async def reminders(session: AsyncSession, receivable_id: int) -> list[Reminder]:
    query = (
        select(Reminder).where(Reminder.receivable_id == receivable_id).order_by(col(Reminder.id))
    )
    return list((await session.exec(query)).all())


async def marks(
    session: AsyncSession, *, hospital_code: str, person_key: str
) -> list[DefaulterMark]:
    """A person's marks at a hospital, oldest first: the last one is in force."""
    query = (
        select(DefaulterMark)
        .where(
            DefaulterMark.hospital_code == hospital_code,
            DefaulterMark.person_key == person_key,
        )
        .order_by(col(DefaulterMark.id))
    )
    return list((await session.exec(query)).all())


async def is_marked(session: AsyncSession, *, hospital_code: str, person_key: str) -> bool:
    query = (
        select(DefaulterMark.action)
        .where(
            DefaulterMark.hospital_code == hospital_code,
            DefaulterMark.person_key == person_key,
        )
        .order_by(col(DefaulterMark.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first() == "mark"


async def open_receivables(
    session: AsyncSession,
    *,
    hospital_code: str | None,
    county_prefix: str | None,
    due_before: date | None,
    limit: int,
) -> list[Receivable]:
    query = select(Receivable).where(Receivable.status == "open")
    if hospital_code is not None:
        query = query.where(Receivable.hospital_code == hospital_code)
    if county_prefix is not None:
        query = query.where(col(Receivable.county_code).startswith(county_prefix))
    if due_before is not None:
        query = query.where(col(Receivable.due_on) < due_before)
    query = query.order_by(col(Receivable.due_on), col(Receivable.id)).limit(limit)
    return list((await session.exec(query)).all())


async def instalments_for(
    session: AsyncSession, receivable_ids: Sequence[int]
) -> dict[int, list[Instalment]]:
    if not receivable_ids:
        return {}
    query = (
        select(Instalment)
        .where(col(Instalment.receivable_id).in_(receivable_ids))
        .order_by(col(Instalment.receivable_id), col(Instalment.seq))
    )
    out: dict[int, list[Instalment]] = {}
    for row in (await session.exec(query)).all():
        out.setdefault(row.receivable_id, []).append(row)
    return out


async def mark_history(
    session: AsyncSession, *, hospital_code: str | None, county_prefix: str | None, limit: int
) -> list[DefaulterMark]:
    query = select(DefaulterMark)
    if hospital_code is not None:
        query = query.where(DefaulterMark.hospital_code == hospital_code)
    if county_prefix is not None:
        query = query.where(col(DefaulterMark.county_code).startswith(county_prefix))
    query = query.order_by(col(DefaulterMark.id).desc()).limit(limit)
    return list((await session.exec(query)).all())
