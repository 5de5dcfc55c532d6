"""What the orchestration machine (machine.py) expects of the money after the slip, from the
answers it got: each fund's closed monthly statements (docs/clearing.md) and each patient's
share paid under pay-after-treatment (docs/receivables.md).

Nothing here reads what the code under test stored: the amounts are the settlement answers'
(its layers, 医疗费总额, 基金支付总额, 个人现金支付), the dates their `created_at` and their
reversals', and which close takes which line is the documented rule (a month closes once it is
over, in order; a line committed into a month already closed is carried, as an adjustment, into
the next close).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from service.clearing.periods import Period
from service.demo import DEMO_FUNDS
from service.money import yuan_to_fen
from service.settlements.schemas import SettlementPublic

# The demo province registers one fund per layer type, for its whole region (99): the fund
# that pays a layer is the one of its type.
FUND_OF_TYPE = {f.fund_type: f.code for f in DEMO_FUNDS}

# medfee, fund_pay, fund_own, psn_cash, settlements less reversals, lines: in fen and counts
Totals = tuple[int, int, int, int, int, int]
LineKey = tuple[str, int, bool]  # (kind, settlement id, adjustment)


def fen(yuan: str | Decimal) -> int:
    return yuan_to_fen(Decimal(yuan))


def shifted(period: Period, months: int) -> Period:
    n = period.year * 12 + period.month - 1 + months
    return Period(n // 12, n % 12 + 1)


@dataclass
class Paid:
    """A settlement's money as its answer gave it, and when it (and its reversal) happened: the
    instant it was stamped with, and the machine's step."""

    settled_at: datetime
    settled_step: int
    medfee: int
    fund_pay: int
    psn_cash: int
    own: dict[str, int]  # fund code -> what that fund's layers paid (funds that paid)
    reversed_at: datetime | None = None
    reversed_step: int | None = None

    @classmethod
    def of(cls, answer: SettlementPublic, step: int) -> Paid:
        created_at = answer.created_at
        assert created_at is not None, "a stored settlement answered without its instant"
        own: Counter[str] = Counter()
        for layer in answer.layers:
            own[FUND_OF_TYPE[layer.fund_type]] += fen(layer.amount)
        return cls(
            settled_at=created_at,
            settled_step=step,
            medfee=fen(answer.medfee_sumamt),
            fund_pay=fen(answer.fund_pay_sumamt),
            psn_cash=fen(answer.psn_cash_pay),
            own={code: amount for code, amount in own.items() if amount},
        )


@dataclass(frozen=True)
class ModelLine:
    """A settlement (+) or its reversal (-) as one fund's statement must list it."""

    kind: str
    settlement_id: int
    dated_at: datetime
    step: int
    sign: int
    own: int
    paid: Paid
    # a reversal in a later month than its settlement is an adjustment wherever it lands
    crosses: bool = False

    @property
    def period(self) -> Period:
        return Period.of(self.dated_at)


def lines(paid: Mapping[int, Paid], fund: str) -> Iterator[ModelLine]:
    for sid, p in sorted(paid.items()):
        own = p.own.get(fund, 0)
        if not own:
            continue
        yield ModelLine("settlement", sid, p.settled_at, p.settled_step, 1, own, p)
        if p.reversed_at is not None and p.reversed_step is not None:
            crosses = Period.of(p.reversed_at) != Period.of(p.settled_at)
            yield ModelLine("reversal", sid, p.reversed_at, p.reversed_step, -1, own, p, crosses)


def totals(taken: list[ModelLine]) -> Totals:
    return (
        sum(line.sign * line.paid.medfee for line in taken),
        sum(line.sign * line.paid.fund_pay for line in taken),
        sum(line.sign * line.own for line in taken),
        sum(line.sign * line.paid.psn_cash for line in taken),
        sum(line.sign for line in taken),
        len(taken),
    )


@dataclass(frozen=True)
class Statement:
    """A closed statement as the machine predicts it."""

    statement_id: int | None
    lines: frozenset[LineKey]
    totals: Totals


@dataclass
class Clearing:
    """The funds' closes of the machine's hospital, as the machine predicts them."""

    statements: dict[tuple[str, str], Statement] = field(default_factory=dict)
    closes: dict[str, list[tuple[int, Period]]] = field(default_factory=dict)  # (step, period)

    def last(self, fund: str) -> Period | None:
        return max((p for _, p in self.closes.get(fund, [])), default=None)

    def closed_keys(self, fund: str) -> set[tuple[str, int]]:
        return {
            (kind, sid)
            for (code, _), s in self.statements.items()
            if code == fund
            for kind, sid, _ in s.lines
        }

    def predict(
        self, paid: Mapping[int, Paid], fund: str, when: Period, now: datetime
    ) -> str | Statement:
        """What closing `when` must answer: the statement (closed before, or now) or the
        refusal's code (docs/clearing.md, 关账)."""
        before = self.statements.get((fund, str(when)))
        if before is not None:
            return before
        if now < when.end:
            return "period_not_over"
        last = self.last(fund)
        if last is not None and when <= last:
            return "period_closed"
        closed = self.closed_keys(fund)
        pending = [
            line
            for line in lines(paid, fund)
            if (line.kind, line.settlement_id) not in closed and line.period <= when
        ]
        floor = None if last is None else last.next()
        if any(x.period < when and (floor is None or x.period >= floor) for x in pending):
            return "earlier_period_open"
        keys = frozenset((x.kind, x.settlement_id, x.crosses or x.period != when) for x in pending)
        return Statement(None, keys, totals(pending))

    def record(self, fund: str, when: Period, statement: Statement, step: int) -> None:
        self.statements[(fund, str(when))] = statement
        self.closes.setdefault(fund, []).append((step, when))

    def pending(self, paid: Mapping[int, Paid], fund: str) -> list[ModelLine]:
        """What no close of the fund has taken yet, by the order of the steps: a settlement or
        a reversal is taken by the first close of the fund after it whose month is not before
        the one it is dated in."""
        closes = self.closes.get(fund, [])
        return [
            line
            for line in lines(paid, fund)
            if not any(step > line.step and period >= line.period for step, period in closes)
        ]

    def not_yet_closed(self, paid: Mapping[int, Paid], fund: str) -> int:
        """The fund's share, signed, of what no close has taken yet."""
        return sum(line.sign * line.own for line in self.pending(paid, fund))


def active_share(paid: Mapping[int, Paid], fund: str) -> int:
    """What the fund's layers paid of the settlements not reversed."""
    return sum(p.own.get(fund, 0) for p in paid.values() if p.reversed_at is None)


@dataclass
class Share:
    """A patient's share (a receivable) as the machine saw it answered and paid."""

    receivable_id: int
    due: int
    payments: dict[str, int] = field(default_factory=dict)  # HIS payment id -> fen accepted

    @property
    def paid(self) -> int:
        return sum(self.payments.values())
