"""All of clearing's SQL: funds, the settlements a statement reads, closed statements,
payments and stored reconciliations.

Services reach it as `uow.clearing` (service/unit_of_work.py) and are written against the
`ClearingStore` protocol. Closing is a cold path (once per fund, hospital and month): the ORM and
Core statements built once at import; the one dialect construct (`ON CONFLICT DO NOTHING`) is
`insert_unless_exists`. Unique violations become `service.db.Duplicate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.auth.visibility import visible_to
from service.base import case_twin_of, table_of
from service.clearing.lines import FundRef, HospitalTotals, Line, SettlementFacts
from service.clearing.models import (
    ClearingPayment,
    ClearingReconciliation,
    ClearingStatement,
    ClearingStatementLine,
    Fund,
)
from service.db import (
    add_once,
    insert_unless_exists,
    rows_where,
    unless_duplicate,
)
from service.regions.models import Hospital
from service.settlements.models import Settlement, SettlementReversal


def _closed(kind: str, fund_code: str) -> sa.Exists:
    line = ClearingStatementLine
    return sa.exists().where(
        col(line.fund_code) == fund_code,
        col(line.kind) == kind,
        col(line.settlement_id) == col(Settlement.id),
    )


def _facts(
    row: Settlement, reversal_id: int | None, reversed_at: datetime | None
) -> SettlementFacts:
    assert row.id is not None
    return SettlementFacts(
        settlement_id=row.id,
        visit_id=row.visit_id,
        his_settlement_id=row.his_settlement_id,
        person_masked=row.person_masked,
        pool=row.pool,
        created_at=row.created_at,
        total_fen=row.total_fen,
        result=row.result,
        reversal_id=reversal_id,
        reversed_at=reversed_at,
    )


_settlements = table_of(Settlement)
_reversals = table_of(SettlementReversal)


def _sums(dated: sa.ColumnElement[datetime], kind: str) -> sa.Select[Any]:
    s = _settlements.c
    return sa.select(
        sa.literal(kind).label("kind"),
        sa.func.coalesce(sa.func.sum(s.total_fen), 0),
        sa.func.coalesce(sa.func.sum(s.total_fen - s.patient_pays_fen), 0),
        sa.func.count(),
    ).where(
        s.hospital_code == sa.bindparam("hospital_code"),
        dated >= sa.bindparam("since"),
        dated < sa.bindparam("until"),
    )


# fund_pay_sumamt as a settlement answers it: every layer, the hospital's waivers included,
# which is the bill less the patient's share (docs/nhsa.md).
_HOSPITAL_TOTALS = sa.union_all(
    _sums(_settlements.c.created_at, "settlement"),
    _sums(_reversals.c.created_at, "reversal").select_from(
        _reversals.join(_settlements, _settlements.c.id == _reversals.c.settlement_id)
    ),
)

# A close holds its fund so the closes of one chain are judged one after another; KEY SHARE
# (taken by a row inserted with a foreign key to the fund) still passes.
_NO_KEY_UPDATE = {"key_share": True}
_INSERT_STATEMENT = insert_unless_exists(
    table_of(ClearingStatement),
    unique=("fund_code", "hospital_code", "period"),
)


class ClearingStore(Protocol):
    async def funds(self) -> list[Fund]: ...

    async def fund(self, code: str, *, lock: bool = False) -> Fund | None:
        """The fund; `lock` holds its row until the commit (PostgreSQL, FOR NO KEY UPDATE, so
        rows that refer to the fund are not held up; SQLite writers are serialised)."""
        ...

    async def fund_case_twin(self, code: str) -> str | None:
        """The code of a fund stored as `code` in another case (a lower-case code let in
        before migration 0017), if there is one."""
        ...

    async def add_fund(self, row: Fund) -> None:
        """`Duplicate` if the code, or the (fund_type, region) pair, is taken."""
        ...

    async def hospital(self, code: str) -> tuple[str, str] | None:
        """(hospital code, county code) of a known hospital."""
        ...

    async def settlement_facts(
        self, *, fund: FundRef, hospital_code: str, since: datetime, until: datetime
    ) -> list[SettlementFacts]: ...

    async def closed_keys(
        self, *, fund_code: str, settlement_ids: Sequence[int]
    ) -> set[tuple[str, int]]: ...

    async def hospital_totals(
        self, *, hospital_code: str, since: datetime, until: datetime
    ) -> HospitalTotals:
        """The hospital's settlements dated in [since, until) less its reversals dated there."""
        ...

    async def statement_for(
        self, *, fund_code: str, hospital_code: str, period: str
    ) -> ClearingStatement | None: ...

    async def statement(
        self, statement_id: int, *, lock: bool = False
    ) -> ClearingStatement | None: ...

    async def latest_closed(
        self, *, fund_code: str, hospital_code: str
    ) -> ClearingStatement | None: ...

    async def insert_statement(self, values: dict[str, object]) -> int | None: ...

    async def insert_lines(
        self, *, statement_id: int, fund_code: str, lines: Sequence[Line]
    ) -> None:
        """`Duplicate` if another close took one of these lines first."""
        ...

    async def statement_lines(self, statement_id: int) -> list[ClearingStatementLine]: ...

    async def closed_statements(
        self,
        *,
        principal: Principal,
        fund_code: str | None,
        hospital_code: str | None,
        limit: int,
    ) -> list[ClearingStatement]: ...

    async def paid_fen(self, statement_id: int) -> int: ...

    async def payments(self, statement_id: int) -> list[ClearingPayment]: ...

    async def payment_by_reference(
        self, *, fund_code: str, reference: str
    ) -> ClearingPayment | None: ...

    async def add_payment(self, row: ClearingPayment) -> None:
        """`Duplicate` if the fund's reference was recorded meanwhile."""
        ...

    async def add_reconciliation(self, row: ClearingReconciliation) -> None: ...

    async def reconciliation(self, reconciliation_id: int) -> ClearingReconciliation | None: ...

    async def reconciliations(
        self,
        *,
        principal: Principal,
        fund_code: str | None,
        hospital_code: str | None,
        period: str | None,
        limit: int,
    ) -> list[ClearingReconciliation]: ...


class SqlClearingStore:
    """ClearingStore, over the unit of work's session."""

    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def funds(self) -> list[Fund]:
        result = await self._session.exec(select(Fund).order_by(col(Fund.code)))
        return list(result.all())

    async def fund(self, code: str, *, lock: bool = False) -> Fund | None:
        return await self._session.get(Fund, code, with_for_update=_NO_KEY_UPDATE if lock else None)

    async def fund_case_twin(self, code: str) -> str | None:
        return (await self._session.exec(case_twin_of(col(Fund.code), code))).first()

    async def add_fund(self, row: Fund) -> None:
        await add_once(self._session, row)

    async def hospital(self, code: str) -> tuple[str, str] | None:
        row = await self._session.get(Hospital, code)
        return None if row is None else (row.code, row.county_code)

    async def settlement_facts(
        self,
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
        rows = (await self._session.exec(query)).all()
        return [_facts(row, reversal_id, reversed_at) for row, reversal_id, reversed_at in rows]

    async def closed_keys(
        self, *, fund_code: str, settlement_ids: Sequence[int]
    ) -> set[tuple[str, int]]:
        """Which of these settlements' lines (kind, settlement id) a closed statement holds."""
        if not settlement_ids:
            return set()
        line = ClearingStatementLine
        query = select(col(line.kind), col(line.settlement_id)).where(
            col(line.fund_code) == fund_code, col(line.settlement_id).in_(settlement_ids)
        )
        return {(kind, sid) for kind, sid in (await self._session.exec(query)).all()}

    async def hospital_totals(
        self, *, hospital_code: str, since: datetime, until: datetime
    ) -> HospitalTotals:
        conn = await self._session.connection()
        params = {"hospital_code": hospital_code, "since": since, "until": until}
        sums = {row[0]: row[1:] for row in (await conn.execute(_HOSPITAL_TOTALS, params)).all()}
        medfee, fund_pay, settlements = (int(v) for v in sums["settlement"])
        back_medfee, back_fund_pay, reversals = (int(v) for v in sums["reversal"])
        return HospitalTotals(
            medfee_fen=medfee - back_medfee,
            fund_pay_fen=fund_pay - back_fund_pay,
            settlements=settlements,
            reversals=reversals,
        )

    async def statement_for(
        self, *, fund_code: str, hospital_code: str, period: str
    ) -> ClearingStatement | None:
        query = select(ClearingStatement).where(
            ClearingStatement.fund_code == fund_code,
            ClearingStatement.hospital_code == hospital_code,
            ClearingStatement.period == period,
        )
        return (await self._session.exec(query)).first()

    async def statement(self, statement_id: int, *, lock: bool = False) -> ClearingStatement | None:
        query = select(ClearingStatement).where(ClearingStatement.id == statement_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.exec(query.execution_options(populate_existing=True))).first()

    async def latest_closed(
        self, *, fund_code: str, hospital_code: str
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
        return (await self._session.exec(query)).first()

    async def insert_statement(self, values: dict[str, object]) -> int | None:
        """Insert a closed statement unless one of its (fund, hospital, period) exists: its id,
        or None when another close got there first (on PostgreSQL this waits for that one's
        commit, so the caller then reads the winner's statement)."""
        conn = await self._session.connection()
        row = (await conn.execute(_INSERT_STATEMENT, values)).first()
        return None if row is None else int(row[0])

    async def insert_lines(
        self, *, statement_id: int, fund_code: str, lines: Sequence[Line]
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
        async with unless_duplicate(self._session):
            conn = await self._session.connection()
            await conn.execute(sa.insert(table_of(ClearingStatementLine)), rows)

    async def statement_lines(self, statement_id: int) -> list[ClearingStatementLine]:
        line = ClearingStatementLine
        return await rows_where(
            self._session, line, line.statement_id == statement_id, order_by=line.id
        )

    async def closed_statements(
        self,
        *,
        principal: Principal,
        fund_code: str | None,
        hospital_code: str | None,
        limit: int,
    ) -> list[ClearingStatement]:
        s = ClearingStatement
        query = select(s).where(*_seen(s, principal, fund_code, hospital_code))
        query = query.order_by(col(s.period).desc(), col(s.id))
        return list((await self._session.exec(query.limit(limit))).all())

    async def paid_fen(self, statement_id: int) -> int:
        query = select(sa.func.coalesce(sa.func.sum(ClearingPayment.amount_fen), 0)).where(
            ClearingPayment.statement_id == statement_id
        )
        return int((await self._session.exec(query)).one())

    async def payments(self, statement_id: int) -> list[ClearingPayment]:
        p = ClearingPayment
        return await rows_where(self._session, p, p.statement_id == statement_id, order_by=p.id)

    async def payment_by_reference(
        self, *, fund_code: str, reference: str
    ) -> ClearingPayment | None:
        query = select(ClearingPayment).where(
            ClearingPayment.fund_code == fund_code, ClearingPayment.reference == reference
        )
        return (await self._session.exec(query)).first()

    async def add_payment(self, row: ClearingPayment) -> None:
        await add_once(self._session, row)

    async def add_reconciliation(self, row: ClearingReconciliation) -> None:
        self._session.add(row)
        await self._session.flush()

    async def reconciliation(self, reconciliation_id: int) -> ClearingReconciliation | None:
        return await self._session.get(ClearingReconciliation, reconciliation_id)

    async def reconciliations(
        self,
        *,
        principal: Principal,
        fund_code: str | None,
        hospital_code: str | None,
        period: str | None,
        limit: int,
    ) -> list[ClearingReconciliation]:
        r = ClearingReconciliation
        query = select(r).where(*_seen(r, principal, fund_code, hospital_code))
        if period is not None:
            query = query.where(col(r.period) == period)
        query = query.order_by(col(r.id).desc()).limit(limit)
        return list((await self._session.exec(query)).all())


def _seen(
    model: type[ClearingStatement] | type[ClearingReconciliation],
    principal: Principal,
    fund_code: str | None,
    hospital_code: str | None,
) -> list[Any]:
    """What this caller may see (a fund key: its own fund only), narrowed as asked."""
    found = visible_to(
        principal, hospital_code=col(model.hospital_code), county_code=col(model.county_code)
    )
    for wanted in (principal.fund_code, fund_code):
        if wanted is not None:
            found.append(col(model.fund_code) == wanted)
    if hospital_code is not None:
        found.append(col(model.hospital_code) == hospital_code)
    return found
