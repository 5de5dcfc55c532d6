"""Funds, statements and closing (清算).

An open statement is computed from the settlements and reversals each time it is read; closing
writes it with its lines, hashed and chained to the previous closed statement of the same fund
and hospital. A period closes only once it is over, in order (every earlier line is closed
first), and never reopens. Lines that commit after their period was closed (a settlement
in flight at the close) are carried into the first open period as adjustments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Protocol, TypeGuard, TypeVar

import anyio

from service.auth import Principal
from service.base import utcnow
from service.clearing import detail_file
from service.clearing.errors import (
    ClearingBusy,
    ClearingHospitalNotFound,
    EarlierPeriodOpen,
    FundCodeCaseTwin,
    FundExists,
    FundNotFound,
    InvalidDetailFile,
    InvalidPeriod,
    PeriodAlreadyClosed,
    PeriodNotBegun,
    PeriodNotOver,
    ReconciliationNotFound,
    StatementNotFound,
)
from service.clearing.lines import FundRef, Line, Totals, lines_of, totals
from service.clearing.models import (
    ClearingPayment,
    ClearingReconciliation,
    ClearingStatement,
    ClearingStatementLine,
    Fund,
)
from service.clearing.periods import Period
from service.clearing.reconcile import reconcile
from service.clearing.schemas import (
    ClearingPaymentPublic,
    FundCreate,
    FundPublic,
    LinePublic,
    ReconciliationPublic,
    StatementPublic,
)
from service.db import on_duplicate_raise
from service.money import fen_to_yuan, yuan_to_fen
from service.recorded import Recorded
from service.unit_of_work import UnitOfWork

GENESIS = "0" * 64


def ref(fund: Fund) -> FundRef:
    return FundRef(fund.code, fund.fund_type, fund.region_code, fund.created_at)


class _OfFundAndHospital(Protocol):
    fund_code: str
    hospital_code: str
    county_code: str


R = TypeVar("R", bound=_OfFundAndHospital)


def in_scope(row: R | None, principal: Principal) -> TypeGuard[R]:
    """Whether `row` (a statement, a reconciliation) exists and is the principal's to see: its
    fund and its hospital both in the principal's scope."""
    return (
        row is not None
        and principal.sees_fund(row.fund_code)
        and principal.sees_hospital(row.hospital_code, row.county_code)
    )


async def require_fund(
    uow: UnitOfWork, *, fund_code: str, principal: Principal | None = None, lock: bool = False
) -> Fund:
    row = await uow.clearing.fund(fund_code, lock=lock)
    if row is None or (principal is not None and not principal.sees_fund(row.code)):
        raise FundNotFound(f"no fund {fund_code} that you may see", field="fund_code")
    return row


async def list_funds(uow: UnitOfWork, *, principal: Principal) -> list[FundPublic]:
    rows = await uow.clearing.funds()
    return [
        FundPublic.model_validate(f, from_attributes=True)
        for f in rows
        if principal.sees_fund(f.code)
    ]


async def create_fund(uow: UnitOfWork, *, body: FundCreate) -> Recorded[FundPublic]:
    """Register a fund; the same body again is answered with it (a replay). A twin that lost
    the race is answered from the winner; one fund pays one fund_type in one region, so
    another code for the same pair is refused."""

    async def work() -> Recorded[FundPublic]:
        existing = await uow.clearing.fund(body.code)
        if existing is not None:
            same = FundPublic.model_validate(existing, from_attributes=True)
            if same.model_dump() == body.model_dump():
                return Recorded(same, replayed=True)
            raise FundExists(f"fund {body.code} exists with other values", field="code")
        if (twin := await uow.clearing.fund_case_twin(body.code)) is not None:
            raise FundCodeCaseTwin(
                f"fund {twin} is stored under this code in lower case (let in before codes "
                f"were upper case); {body.code} cannot be registered beside it: an operator "
                "decides which is right (docs/directory.md)",
                field="code",
            )
        row = Fund(**body.model_dump())
        await uow.clearing.add_fund(row)
        return Recorded(FundPublic.model_validate(row, from_attributes=True), replayed=False)

    async def raced() -> Recorded[FundPublic]:
        with on_duplicate_raise(
            FundExists(
                f"a {body.fund_type} fund for region {body.region_code} exists already",
                field="region_code",
            )
        ):
            return await work()  # the code is stored now, or the pair was taken

    return await uow.run(work, on_duplicate=raced)


@dataclass(frozen=True, slots=True)
class _Hospital:
    code: str
    county_code: str


async def _hospital(uow: UnitOfWork, principal: Principal, code: str) -> _Hospital:
    row = await uow.clearing.hospital(code)
    if row is None or not principal.sees_hospital(*row):
        raise ClearingHospitalNotFound(
            f"no hospital {code} that you may see", field="hospital_code"
        )
    return _Hospital(*row)


def parse_period(text: str) -> Period:
    period = Period.parse(text)
    if period is None:
        raise InvalidPeriod(
            f"{text!r} is not a period YYYY-MM from 2000-01 to 2999-12", field="period"
        )
    return period


async def _open_lines(
    uow: UnitOfWork, *, fund: Fund, hospital_code: str, period: Period
) -> tuple[list[Line], Period | None]:
    """Unclosed lines dated before the period's end, and the last closed period."""
    funds = [ref(f) for f in await uow.clearing.funds()]
    facts = await uow.clearing.settlement_facts(
        fund=ref(fund),
        hospital_code=hospital_code,
        since=period.start,
        until=period.end,
    )
    closed = await uow.clearing.closed_keys(
        fund_code=fund.code, settlement_ids=[f.settlement_id for f in facts]
    )
    lines = [
        line
        for f in facts
        for line in lines_of(ref(fund), funds, f)
        if (line.kind, line.settlement_id) not in closed and line.dated_at < period.end
    ]
    last = await uow.clearing.latest_closed(fund_code=fund.code, hospital_code=hospital_code)
    return lines, None if last is None else parse_period(last.period)


def _view_lines(lines: Sequence[Line], period: Period, last: Period | None) -> list[Line]:
    """What an open period shows: its own lines, and in the first period after the last
    close, the lines that committed late into closed periods (as adjustments)."""
    if last is not None and period <= last:
        return []
    carried = last is not None and period == last.next()
    shown = []
    for line in lines:
        if line.period == period:
            shown.append(line)
        elif carried and last is not None and line.period <= last:
            shown.append(_as_adjustment(line))
    return shown


def _as_adjustment(line: Line) -> Line:
    return replace(line, adjustment=True)


async def _asked(
    uow: UnitOfWork,
    principal: Principal,
    fund_code: str,
    hospital_code: str,
    period: str,
    *,
    lock: bool = False,
) -> tuple[Fund, _Hospital, Period, ClearingStatement | None]:
    """The fund, hospital and month a statement is asked for (fund and hospital in the caller's
    scope), and the statement closed for them, if any. `lock` (a close) holds the fund first,
    so what is read after it is what the close before committed."""
    fund = await require_fund(uow, fund_code=fund_code, principal=principal, lock=lock)
    hospital = await _hospital(uow, principal, hospital_code)
    when = parse_period(period)
    closed = await uow.clearing.statement_for(
        fund_code=fund.code, hospital_code=hospital.code, period=str(when)
    )
    return fund, hospital, when, closed


async def statement(
    uow: UnitOfWork,
    *,
    principal: Principal,
    fund_code: str,
    hospital_code: str,
    period: str,
) -> StatementPublic:
    fund, hospital, when, closed = await _asked(uow, principal, fund_code, hospital_code, period)
    if closed is not None:
        return await _closed_public(uow, closed, fund)
    if utcnow() < when.start:
        # A month to come holds nothing yet; zeros would read as a month with no stays.
        raise PeriodNotBegun(f"period {when} has not begun", field="period")
    lines, last = await _open_lines(uow, fund=fund, hospital_code=hospital.code, period=when)
    shown = _view_lines(lines, when, last)
    status = "superseded" if last is not None and when <= last else "open"
    return _open_public(fund, hospital.code, when, shown, status)


def _open_public(
    fund: Fund, hospital_code: str, period: Period, lines: Sequence[Line], status: str
) -> StatementPublic:
    t = totals(lines)
    return StatementPublic.model_validate(
        {
            "id": None,
            "status": status,
            "fund_code": fund.code,
            "fund_type": fund.fund_type,
            "hospital_code": hospital_code,
            "period": str(period),
            **nhsa_amounts(t),
            "setl_cnt": t.settlement_count,
            "line_count": t.line_count,
            "paid": fen_to_yuan(0),
            "outstanding": fen_to_yuan(0),
            "content_hash": None,
            "prev_hash": None,
            "closed_by": None,
            "closed_at": None,
            "lines": [_line_out(line) for line in lines],
        }
    )


def nhsa_amounts(
    fen: Line | ClearingStatementLine | ClearingStatement | Totals,
) -> dict[str, str]:
    """The amounts in yuan under their NHSA 3201/3202 names, for a line and a statement alike."""
    return {
        "medfee_sumamt": fen_to_yuan(fen.medfee_fen),
        "fund_pay_sumamt": fen_to_yuan(fen.fund_pay_fen),
        "fund_own_amt": fen_to_yuan(fen.fund_own_fen),
        "psn_cash_pay": fen_to_yuan(fen.psn_cash_fen),
    }


def payment_public(row: ClearingPayment) -> ClearingPaymentPublic:
    """A fund's payment as answered, on its own and in its statement."""
    return ClearingPaymentPublic.model_validate(
        row.model_dump() | {"amount": fen_to_yuan(row.amount_fen)}
    )


# What a line answers as it holds it: the fields its record and its answer share by name
# (a computed line is a `Line`, a closed one a row with the same columns).
_AS_HELD = tuple(LinePublic.model_fields.keys() & {f.name for f in fields(Line)})


def _line_out(line: Line | ClearingStatementLine) -> LinePublic:
    held = {name: getattr(line, name) for name in _AS_HELD}
    return LinePublic.model_validate(
        held | {"period": str(Period.of(line.dated_at))} | nhsa_amounts(line)
    )


async def _closed_public(
    uow: UnitOfWork, row: ClearingStatement, fund: Fund | None = None
) -> StatementPublic:
    assert row.id is not None
    fund = fund or await require_fund(uow, fund_code=row.fund_code)
    paid = await uow.clearing.paid_fen(row.id)
    lines = await uow.clearing.statement_lines(row.id)
    return StatementPublic.model_validate(
        {
            "id": row.id,
            "status": "closed",
            "fund_code": row.fund_code,
            "fund_type": fund.fund_type,
            "hospital_code": row.hospital_code,
            "period": row.period,
            **nhsa_amounts(row),
            "setl_cnt": row.settlement_count,
            "line_count": row.line_count,
            "paid": fen_to_yuan(paid),
            "outstanding": fen_to_yuan(max(row.fund_own_fen - paid, 0)),
            "content_hash": row.content_hash,
            "prev_hash": row.prev_hash,
            "closed_by": row.closed_by,
            "closed_at": row.closed_at,
            "lines": [_line_out(line) for line in lines],
            "payments": [payment_public(p) for p in await uow.clearing.payments(row.id)],
        }
    )


def content_hash(
    *, fund_code: str, hospital_code: str, period: str, prev_hash: str, lines: Sequence[Line]
) -> str:
    """SHA-256 of the statement's canonical content, chained to the previous one's hash."""
    body = {
        "fund_code": fund_code,
        "hospital_code": hospital_code,
        "period": period,
        "prev_hash": prev_hash,
        "lines": [
            [
                line.kind,
                line.settlement_id,
                line.reversal_id,
                line.dated_at.isoformat(),
                line.medfee_fen,
                line.fund_pay_fen,
                line.fund_own_fen,
                line.psn_cash_fen,
            ]
            for line in lines
        ],
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def close(
    uow: UnitOfWork,
    *,
    principal: Principal,
    fund_code: str,
    hospital_code: str,
    period: str,
    now: datetime | None = None,
) -> Recorded[StatementPublic]:
    """关账: write the period's statement for good. A replay when it was closed already, by this
    request's twin or earlier."""
    # Closes of one fund are judged one after another (a statement chains onto the one closed
    # before it); twins of one month then find it closed.
    fund, hospital, when, closed = await _asked(
        uow, principal, fund_code, hospital_code, period, lock=True
    )
    if closed is not None:
        return Recorded(await _closed_public(uow, closed, fund), replayed=True)
    moment = now or utcnow()
    if moment < when.start:
        raise PeriodNotBegun(f"period {when} has not begun", field="period")
    if moment < when.end:
        raise PeriodNotOver(
            f"period {when} is not over; close it from {when.end.date()} on", field="period"
        )
    lines, last = await _open_lines(uow, fund=fund, hospital_code=hospital.code, period=when)
    if last is not None and when <= last:
        raise PeriodAlreadyClosed(
            f"{fund.code} at {hospital.code} is closed up to {last}; corrections go into a "
            "later period",
            field="period",
        )
    floor = last.next() if last is not None else None
    skipped = sorted(
        {
            line.period
            for line in lines
            if line.period < when and (floor is None or line.period >= floor)
        }
    )
    if skipped:
        raise EarlierPeriodOpen(f"close {skipped[0]} first: periods close in order", field="period")
    taken = [_as_adjustment(x) if x.period != when else x for x in lines]
    return await _write(uow, principal, fund, hospital, when, taken)


async def _write(
    uow: UnitOfWork,
    principal: Principal,
    fund: Fund,
    hospital: _Hospital,
    when: Period,
    lines: list[Line],
) -> Recorded[StatementPublic]:
    last = await uow.clearing.latest_closed(fund_code=fund.code, hospital_code=hospital.code)
    prev = last.content_hash if last is not None else GENESIS
    t = totals(lines)
    values: dict[str, object] = {
        "fund_code": fund.code,
        "hospital_code": hospital.code,
        "county_code": hospital.county_code,
        "period": str(when),
        "medfee_fen": t.medfee_fen,
        "fund_pay_fen": t.fund_pay_fen,
        "fund_own_fen": t.fund_own_fen,
        "psn_cash_fen": t.psn_cash_fen,
        "settlement_count": t.settlement_count,
        "line_count": t.line_count,
        "prev_hash": prev,
        "content_hash": content_hash(
            fund_code=fund.code,
            hospital_code=hospital.code,
            period=str(when),
            prev_hash=prev,
            lines=lines,
        ),
        "closed_by": principal.label[:64],
        "closed_at": utcnow(),
    }
    # Another close (of a neighbouring period) may take some of these lines first.
    with on_duplicate_raise(
        ClearingBusy(
            "another close of this fund and hospital ran at the same time; try again",
            headers={"Retry-After": "1"},
        )
    ):
        statement_id = await uow.clearing.insert_statement(values)
        if statement_id is not None:
            await uow.clearing.insert_lines(
                statement_id=statement_id, fund_code=fund.code, lines=lines
            )
    row = await uow.clearing.statement_for(
        fund_code=fund.code, hospital_code=hospital.code, period=str(when)
    )
    assert row is not None
    return Recorded(await _closed_public(uow, row, fund), replayed=statement_id is None)


async def closed_by_id(
    uow: UnitOfWork, *, principal: Principal, statement_id: int
) -> StatementPublic:
    row = await uow.clearing.statement(statement_id)
    if not in_scope(row, principal):
        raise StatementNotFound(f"no closed statement {statement_id} that you may see")
    return await _closed_public(uow, row)


async def list_closed(
    uow: UnitOfWork,
    *,
    principal: Principal,
    fund_code: str | None,
    hospital_code: str | None,
    limit: int,
) -> list[StatementPublic]:
    rows = await uow.clearing.closed_statements(
        principal=principal, fund_code=fund_code, hospital_code=hospital_code, limit=limit
    )
    return [await _closed_public(uow, row) for row in rows]


async def reconcile_file(
    uow: UnitOfWork,
    *,
    principal: Principal,
    fund_code: str,
    hospital_code: str,
    period: str,
    content: bytes,
) -> ReconciliationPublic:
    """对账: the fund's detail file against the statement (closed, or open as of now). The
    answer is stored as given, so it can be read again (`reconciliation`)."""
    ours = await statement(
        uow,
        principal=principal,
        fund_code=fund_code,
        hospital_code=hospital_code,
        period=period,
    )
    try:
        # In a worker thread, as a policy document is compiled: a large workbook delays its
        # own request, not the event loop's others.
        theirs = await anyio.to_thread.run_sync(detail_file.parse, content)
    except detail_file.BadDetailFile as exc:
        raise InvalidDetailFile(
            f"the detail file has {len(exc.problems)} problem(s); nothing was compared",
            errors=exc.problems,
        ) from exc
    answer = reconcile(ours, theirs)
    hospital = await _hospital(uow, principal, hospital_code)
    row = ClearingReconciliation.model_validate(
        answer,
        from_attributes=True,
        update={
            "county_code": hospital.county_code,
            "statement_hash": ours.content_hash,
            "file_sha256": hashlib.sha256(content).hexdigest(),
            "difference_fen": yuan_to_fen(answer.difference),
            "result": answer.model_dump(mode="json"),
            "uploaded_by": principal.label[:64],
        },
    )
    await uow.clearing.add_reconciliation(row)
    return _reconciliation_public(row)


def _reconciliation_public(row: ClearingReconciliation) -> ReconciliationPublic:
    assert row.id is not None
    return ReconciliationPublic.model_validate(
        {
            **row.result,
            "id": row.id,
            "statement_hash": row.statement_hash,
            "file_sha256": row.file_sha256,
            "uploaded_by": row.uploaded_by,
            "created_at": row.created_at,
        }
    )


async def reconciliation(
    uow: UnitOfWork, *, principal: Principal, reconciliation_id: int
) -> ReconciliationPublic:
    """A stored reconciliation, as it was answered."""
    row = await uow.clearing.reconciliation(reconciliation_id)
    if not in_scope(row, principal):
        raise ReconciliationNotFound(f"no reconciliation {reconciliation_id} that you may see")
    return _reconciliation_public(row)


async def list_reconciliations(
    uow: UnitOfWork,
    *,
    principal: Principal,
    fund_code: str | None,
    hospital_code: str | None,
    period: str | None,
    limit: int,
) -> list[ReconciliationPublic]:
    """Stored reconciliations you may see, newest first."""
    rows = await uow.clearing.reconciliations(
        principal=principal,
        fund_code=fund_code,
        hospital_code=hospital_code,
        period=None if period is None else str(parse_period(period)),
        limit=limit,
    )
    return [_reconciliation_public(row) for row in rows]
