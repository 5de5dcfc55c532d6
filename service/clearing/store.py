"""All of clearing's SQL: funds, the settlements a statement reads, closed statements, payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.clearing.lines import FundRef, Line, SettlementFacts
from service.clearing.models import (
    ClearingPayment,
    ClearingStatement,
    ClearingStatementLine,
    Fund,
)
from service.db import insert_unless_exists
from service.settlements.models import Settlement, SettlementReversal


async def funds(session: AsyncSession) -> list[Fund]:
    result = await session.exec(select(Fund).order_by(col(Fund.code)))
    return list(result.all())


async def fund(session: AsyncSession, code: str) -> Fund | None:
    return await session.get(Fund, code)


async def add_fund(session: AsyncSession, row: Fund) -> None:
    session.add(row)
    await session.flush()


def _closed(kind: str, fund_code: str) -> sa.Exists:
    line = ClearingStatementLine
    return sa.exists().where(
        col(line.fund_code) == fund_code,
        col(line.kind) == kind,
        col(line.settlement_id) == col(Settlement.id),
    )


async def settlement_facts(
    session: AsyncSession,
    *,
    fund: FundRef,
    hospital_code: str,
    since: datetime,
    until: datetime,
) -> list[SettlementFacts]:
    """The hospital's settlements (with reversals) in the fund's region that have a line dated
    in [since, until), or an unclosed line dated before `since`."""
    s, r = Settlement, SettlementReversal
    in_range = sa.or_(
        sa.and_(col(s.created_at) >= since, col(s.created_at) < until),
        sa.and_(col(r.created_at) >= since, col(r.created_at) < until),
    )
    earlier_unclosed = sa.or_(
        sa.and_(col(s.created_at) < since, ~_closed("settlement", fund.code)),
        sa.and_(col(r.created_at) < since, ~_closed("reversal", fund.code)),
    )
    query = (
        select(s, col(r.id), col(r.created_at))
        .outerjoin(r, col(r.settlement_id) == col(s.id))
        .where(
            col(s.hospital_code) == hospital_code,
            col(s.pool).startswith(fund.region_code),
            sa.or_(in_range, earlier_unclosed),
        )
        .order_by(col(s.id))
    )
    rows = (await session.exec(query)).all()
    return [_facts(row, reversal_id, reversed_at) for row, reversal_id, reversed_at in rows]


def _facts(
    row: Settlement, reversal_id: int | None, reversed_at: datetime | None
) -> SettlementFacts:
    assert row.id is not None
    return SettlementFacts(
        settlement_id=row.id,
        hospital_code=row.hospital_code,
        visit_id=row.visit_id,
        his_settlement_id=row.his_settlement_id,
        person_masked=row.person_masked,
        pool=row.pool,
        created_at=row.created_at,
        total_fen=row.total_fen,
        funds_total_fen=row.funds_total_fen,
        patient_pays_fen=row.patient_pays_fen,
        layers=list(row.result.get("layers", [])),
        reversal_id=reversal_id,
        reversed_at=reversed_at,
    )


async def closed_keys(
    session: AsyncSession, *, fund_code: str, settlement_ids: Sequence[int]
) -> set[tuple[str, int]]:
    """Which of these settlements' lines (kind, settlement id) a closed statement holds."""
    if not settlement_ids:
        return set()
    line = ClearingStatementLine
    query = select(col(line.kind), col(line.settlement_id)).where(
        col(line.fund_code) == fund_code, col(line.settlement_id).in_(settlement_ids)
    )
    return {(kind, sid) for kind, sid in (await session.exec(query)).all()}


async def statement_for(
    session: AsyncSession, *, fund_code: str, hospital_code: str, period: str
) -> ClearingStatement | None:
    query = select(ClearingStatement).where(
        ClearingStatement.fund_code == fund_code,
        ClearingStatement.hospital_code == hospital_code,
        ClearingStatement.period == period,
    )
    return (await session.exec(query)).first()


async def statement(
    session: AsyncSession, statement_id: int, *, lock: bool = False
) -> ClearingStatement | None:
    query = select(ClearingStatement).where(ClearingStatement.id == statement_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def latest_closed(
    session: AsyncSession, *, fund_code: str, hospital_code: str
) -> ClearingStatement | None:
    query = (
        select(ClearingStatement)
        .where(
            ClearingStatement.fund_code == fund_code,
            ClearingStatement.hospital_code == hospital_code,
        )
        .order_by(col(ClearingStatement.period).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


_INSERT_STATEMENT = insert_unless_exists(
    ClearingStatement.__table__,  # type: ignore[attr-defined]
    unique=("fund_code", "hospital_code", "period"),
)


async def insert_statement(session: AsyncSession, values: dict[str, object]) -> int | None:
    """Insert a closed statement unless one of its (fund, hospital, period) exists: its id,
    or None when another close got there first (on PostgreSQL this waits for that one's
    commit, so the caller then reads the winner's statement)."""
    conn = await session.connection()
    row = (await conn.execute(_INSERT_STATEMENT, values)).first()
    return None if row is None else int(row[0])


async def insert_lines(
    session: AsyncSession, *, statement_id: int, fund_code: str, lines: Sequence[Line]
) -> None:
    if not lines:
        return
    rows = [
        {
            "statement_id": statement_id,
            "fund_code": fund_code,
            "kind": line.kind,
            "settlement_id": line.settlement_id,
            "reversal_id": line.reversal_id,
            "visit_id": line.visit_id,
            "his_settlement_id": line.his_settlement_id,
            "person_masked": line.person_masked,
            "dated_at": line.dated_at,
            "adjustment": line.adjustment,
            "medfee_fen": line.medfee_fen,
            "fund_pay_fen": line.fund_pay_fen,
            "fund_own_fen": line.fund_own_fen,
            "psn_cash_fen": line.psn_cash_fen,
        }
        for line in lines
    ]
    await (await session.connection()).execute(sa.insert(ClearingStatementLine), rows)


async def statement_lines(session: AsyncSession, statement_id: int) -> list[ClearingStatementLine]:
    query = (
        select(ClearingStatementLine)
        .where(ClearingStatementLine.statement_id == statement_id)
        .order_by(col(ClearingStatementLine.id))
    )
    return list((await session.exec(query)).all())


async def closed_statements(
    session: AsyncSession,
    *,
    fund_code: str | None,
    hospital_code: str | None,
    county_prefix: str | None,
    limit: int,
) -> list[ClearingStatement]:
    query = select(ClearingStatement)
    if fund_code is not None:
        query = query.where(ClearingStatement.fund_code == fund_code)
    if hospital_code is not None:
        query = query.where(ClearingStatement.hospital_code == hospital_code)
    if county_prefix is not None:
        query = query.where(col(ClearingStatement.county_code).startswith(county_prefix))
    query = query.order_by(col(ClearingStatement.period).desc(), col(ClearingStatement.id))
    return list((await session.exec(query.limit(limit))).all())


async def paid_fen(session: AsyncSession, statement_id: int) -> int:
    query = select(sa.func.coalesce(sa.func.sum(ClearingPayment.amount_fen), 0)).where(
        ClearingPayment.statement_id == statement_id
    )
    return int((await session.exec(query)).one())


async def payments(session: AsyncSession, statement_id: int) -> list[ClearingPayment]:
    query = (
        select(ClearingPayment)
        .where(ClearingPayment.statement_id == statement_id)
        .order_by(col(ClearingPayment.id))
    )
    return list((await session.exec(query)).all())


async def payment_by_reference(
    session: AsyncSession, *, fund_code: str, reference: str
) -> ClearingPayment | None:
    query = select(ClearingPayment).where(
        ClearingPayment.fund_code == fund_code, ClearingPayment.reference == reference
    )
    return (await session.exec(query)).first()


async def add_payment(session: AsyncSession, row: ClearingPayment) -> None:
    session.add(row)
    await session.flush()
