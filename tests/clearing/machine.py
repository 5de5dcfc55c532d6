"""The clearing invariant as a state machine (issue 13): settlements and reversals land in the
months of 2026, funds close months and pay closed statements, in any order hypothesis picks.

After every step it reads what committed and checks:
- for each fund, the sum of its statements over every month (closed as stored, open as computed
  now) equals the fund's share of the hospital's active settlements (settled, not reversed);
- no closed statement is paid more than it owes, and what it shows as paid is exactly the
  payments the model accepted.
And at each payment the model predicts the answer: accepted while the sum stays within what the
statement owes, refused (and nothing recorded) once it would not.

Settlements and reversals are written as rows at chosen instants (the API stamps `now`), as
tests/factories.py `Ledger` does; closes and payments go through the services themselves
(service/clearing), each in its own unit of work, on SQLite or PostgreSQL
(tests/clearing/test_machine.py). Each run uses a hospital of its own, so runs share a database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar, TypeVar

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.auth import Principal, Role
from service.clearing import payments
from service.clearing import service as clearing
from service.clearing.schemas import ClearingPaymentCreate
from service.dates import DateWindow
from service.errors import ServiceError
from service.recorded import Recorded
from service.regions.models import Hospital
from service.unit_of_work import unit_of_work
from tests import factories

T = TypeVar("T")
FUNDS = {"F99-BASIC": "basic_insurance", "F99-CRITICAL": "critical_illness"}
# Settlements in months 1-6, reversals up to two months later, closes of months 1-8; month 9
# is never closed, so a line that lands in a closed month always has an open month to be
# carried into (the first after the last close), and the invariant reads it there.
LAST_CLOSE = 8
MONTHS = [f"2026-{m:02d}" for m in range(1, LAST_CLOSE + 2)]
CLOSE_REFUSALS = {"earlier_period_open", "period_closed", "clearing_busy"}
PAY_REFUSALS = {"overpayment", "statement_paid", "nothing_owed"}
WINDOW = DateWindow(date(2016, 1, 1), timedelta(seconds=300))

_runs = itertools.count(1)


def fund_key(code: str) -> Principal:
    return Principal(key_id=900, role=Role.FUND, region_prefix="99", fund_code=code)


def _fen(amount: str) -> int:
    return int(Decimal(amount) * 100)


@dataclass
class Closed:
    fund_code: str
    statement_id: int
    owes_fen: int
    paid_fen: int = 0


class ClearingMachine(RuleBasedStateMachine):
    """Subclassed per database with `maker` and `loop` set (test_machine.py)."""

    maker: ClassVar[async_sessionmaker[Any]]
    loop: ClassVar[asyncio.AbstractEventLoop]
    checked: ClassVar[int] = 0  # invariant checks passed (tests assert on it)

    settled = Bundle("settled")
    closed = Bundle("closed")

    def __init__(self) -> None:
        super().__init__()
        self.run = next(_runs)
        self.hospital = f"HM{self.run:04d}{id(self) % 10_000:04d}"
        app = SimpleNamespace(state=SimpleNamespace(sessionmaker=self.maker))
        self.ledger = factories.Ledger(app)  # type: ignore[arg-type]
        self.active: dict[int, dict[str, int]] = {}  # settlement id -> fund code -> fen
        self.statements: list[Closed] = []
        self.references = itertools.count(1)
        self.call(self._add_hospital())

    def call(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)

    async def _add_hospital(self) -> None:
        async with self.maker() as s:
            s.add(
                Hospital(
                    code=self.hospital,
                    name="清算状态机医院",
                    county_code=factories.COUNTY,
                    level="secondary",
                    tier="county",
                )
            )
            await s.commit()

    # --- steps ------------------------------------------------------------------------------

    @rule(
        target=settled,
        month=st.integers(1, 6),
        day=st.integers(1, 28),
        basic=st.integers(0, 5000_00),
        critical=st.sampled_from([0, 0, 1, 300_00, 900_00]),
    )
    def settle(self, month: int, day: int, basic: int, critical: int) -> tuple[int, int, int]:
        when = factories.at(2026, month, day)
        sid = self.call(
            self.ledger.settle(when, basic=basic, critical=critical, hospital_code=self.hospital)
        )
        self.active[sid] = {"F99-BASIC": basic, "F99-CRITICAL": critical}
        return sid, month, day

    @rule(settlement=settled, later=st.integers(0, 2), day=st.integers(1, 28))
    def reverse(self, settlement: tuple[int, int, int], later: int, day: int) -> None:
        sid, month, settled_on = settlement
        if sid not in self.active:
            event("reverse: already reversed")
            return
        # never before the settlement itself; two months later may fall in a closed month
        when = factories.at(2026, month + later, day if later else max(day, settled_on))
        self.call(self.ledger.reverse(sid, when))
        del self.active[sid]
        event(f"reverse: {later} month(s) later")

    @rule(target=closed, fund=st.sampled_from(sorted(FUNDS)), month=st.integers(1, LAST_CLOSE))
    def close(self, fund: str, month: int) -> tuple[str, int] | None:
        async def work() -> Recorded[Any]:
            async with unit_of_work(self.maker) as uow:
                return await clearing.close(
                    uow,
                    principal=fund_key(fund),
                    fund_code=fund,
                    hospital_code=self.hospital,
                    period=MONTHS[month - 1],
                )

        try:
            closed = self.call(work())
        except ServiceError as exc:
            refused = exc.code
        else:
            refused = None
        if refused is not None:
            assert refused in CLOSE_REFUSALS, refused
            event(f"close refused: {refused}")
            return None
        statement, created = closed.entry, not closed.replayed
        event(f"close: {'closed' if created else 'closed before'}")
        if created:
            assert statement.id is not None
            self.statements.append(Closed(fund, statement.id, _fen(statement.fund_own_amt)))
        return fund, statement.id

    @rule(statement=closed, amount=st.integers(1, 3000_00), replay=st.booleans())
    def pay(self, statement: tuple[str, int] | None, amount: int, replay: bool) -> None:
        if statement is None:
            return
        fund, statement_id = statement
        model = next(c for c in self.statements if c.statement_id == statement_id)
        reference = f"R{self.run}-{next(self.references)}"
        body = ClearingPaymentCreate(
            amount=Decimal(amount) / 100, paid_on=date(2026, 10, 1), reference=reference
        )

        async def work() -> Recorded[Any]:
            async with unit_of_work(self.maker) as uow:
                return await payments.pay(
                    uow,
                    principal=fund_key(fund),
                    statement_id=statement_id,
                    body=body,
                    window=WINDOW,
                )

        fits = model.owes_fen > 0 and model.paid_fen + amount <= model.owes_fen
        try:
            replayed = self.call(work()).replayed
        except ServiceError as exc:
            refused = exc.code
        else:
            refused = None
        if refused is not None:
            assert not fits, f"a payment of {amount} within {model} was refused: {refused}"
            assert refused in PAY_REFUSALS, refused
            event(f"pay refused: {refused}")
            return
        assert fits, f"a payment of {amount} beyond what {model} owes was accepted"
        assert not replayed
        model.paid_fen += amount
        event("pay: accepted")
        if replay:  # the same reference and body again: answered, never counted twice
            assert self.call(work()).replayed

    # --- what must always hold --------------------------------------------------------------

    async def _statement(self, fund: str, period: str) -> Any:
        async with unit_of_work(self.maker) as uow:
            return await clearing.statement(
                uow,
                principal=fund_key(fund),
                fund_code=fund,
                hospital_code=self.hospital,
                period=period,
            )

    @invariant()
    def statements_add_up_to_the_active_settlements(self) -> None:
        for fund in FUNDS:
            shown = [self.call(self._statement(fund, period)) for period in MONTHS]
            total = sum(_fen(s.fund_own_amt) for s in shown)
            expected = sum(amounts[fund] for amounts in self.active.values())
            assert total == expected, (fund, total, expected, [s.status for s in shown])
            for s in shown:
                if s.status != "closed":
                    continue
                model = next(c for c in self.statements if c.statement_id == s.id)
                assert _fen(s.paid) == model.paid_fen, (s.id, s.paid, model)
                assert _fen(s.paid) <= max(_fen(s.fund_own_amt), 0), (s.id, s.paid)
                assert _fen(s.outstanding) == max(_fen(s.fund_own_amt) - _fen(s.paid), 0)
        type(self).checked += 1
