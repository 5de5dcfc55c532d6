"""The pure part of clearing: which fund pays which layer, a settlement's lines, the totals.

A settlement's stored `result` lists its layers with their `fund_type` and amount; a fund pays
the layers of its `fund_type` for the insured pools under its `region_code` (the most specific
fund wins when two regions nest, among the funds registered when the settlement was made).
The amounts are read with the settlement's own mapping (`service/settlements/render.py`:
`stored_fund_fields`, `stored_layer_amounts`), the one the API, the NHSA 2207 answer and the
FHIR Claim already report (`fund_pay_sumamt`, `psn_cash_pay`, and the fund's own national
field, e.g. `maf_pay` or `hifes_pay`). No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from service.clearing.periods import Period
from service.money import yuan_to_fen
from service.settlements.render import stored_fund_fields, stored_layer_amounts

LineKind = Literal["settlement", "reversal"]


@dataclass(frozen=True, slots=True)
class FundRef:
    code: str
    fund_type: str
    region_code: str
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class SettlementFacts:
    """What clearing reads of a stored settlement (and its reversal, if any)."""

    settlement_id: int
    visit_id: str
    his_settlement_id: str
    person_masked: str
    pool: str
    created_at: datetime
    total_fen: int
    result: Mapping[str, Any]
    reversal_id: int | None = None
    reversed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Line:
    kind: LineKind
    settlement_id: int
    reversal_id: int | None
    visit_id: str
    his_settlement_id: str
    person_masked: str
    dated_at: datetime
    adjustment: bool
    medfee_fen: int
    fund_pay_fen: int
    fund_own_fen: int
    psn_cash_fen: int

    @property
    def period(self) -> Period:
        return Period.of(self.dated_at)


@dataclass(frozen=True, slots=True)
class Totals:
    medfee_fen: int = 0
    fund_pay_fen: int = 0
    fund_own_fen: int = 0
    psn_cash_fen: int = 0
    settlement_count: int = 0
    line_count: int = 0


@dataclass(frozen=True, slots=True)
class HospitalTotals:
    """A hospital's settlements over some days, every fund together (NHSA 3201 对总账), by the
    statements' rule: a settlement counts on its day, its reversal negated on the reversal's."""

    medfee_fen: int = 0
    fund_pay_fen: int = 0
    settlements: int = 0
    reversals: int = 0

    @property
    def count(self) -> int:
        """Settlements less reversals: a reversal is a negative record, as on the platform."""
        return self.settlements - self.reversals


def fund_for(
    funds: Iterable[FundRef], *, fund_type: str, pool: str, made_at: datetime
) -> FundRef | None:
    """The fund that pays a layer of this type for this insured pool: the longest region among
    the funds registered when the settlement was made. A fund registered later takes the later
    settlements only: the earlier ones are another fund's, which may have closed and been paid
    for them. A settlement older than every such fund is the first registered ones'."""
    matching = [f for f in funds if f.fund_type == fund_type and pool.startswith(f.region_code)]
    if not matching:
        return None
    cutoff = max(made_at, min(f.registered_at for f in matching))
    known = [f for f in matching if f.registered_at <= cutoff]
    return max(known, key=lambda f: len(f.region_code))


def fund_share(fund: FundRef, funds: Iterable[FundRef], facts: SettlementFacts) -> int:
    """What this fund paid of the settlement, in fen (0 if none of its layers applied); its
    reversal's line is the same fund's."""
    payer = fund_for(funds, fund_type=fund.fund_type, pool=facts.pool, made_at=facts.created_at)
    if payer != fund:
        return 0
    return sum(fen for kind, fen in stored_layer_amounts(facts.result) if kind == fund.fund_type)


def lines_of(fund: FundRef, funds: Sequence[FundRef], facts: SettlementFacts) -> list[Line]:
    """The settlement's line and, if reversed, its reversal's line (amounts negated)."""
    own = fund_share(fund, funds, facts)
    if own == 0:
        return []
    national = stored_fund_fields(facts.result)
    fund_pay = yuan_to_fen(national["fund_pay_sumamt"])
    cash = yuan_to_fen(national["psn_cash_pay"])
    settled = Line(
        kind="settlement",
        settlement_id=facts.settlement_id,
        reversal_id=None,
        visit_id=facts.visit_id,
        his_settlement_id=facts.his_settlement_id,
        person_masked=facts.person_masked,
        dated_at=facts.created_at,
        adjustment=False,
        medfee_fen=facts.total_fen,
        fund_pay_fen=fund_pay,
        fund_own_fen=own,
        psn_cash_fen=cash,
    )
    if facts.reversal_id is None or facts.reversed_at is None:
        return [settled]
    reversed_ = replace(
        settled,
        kind="reversal",
        reversal_id=facts.reversal_id,
        dated_at=facts.reversed_at,
        # A reversal in a later period than its settlement corrects that period here.
        adjustment=Period.of(facts.reversed_at) != Period.of(facts.created_at),
        medfee_fen=-facts.total_fen,
        fund_pay_fen=-fund_pay,
        fund_own_fen=-own,
        psn_cash_fen=-cash,
    )
    return [settled, reversed_]


def totals(lines: Iterable[Line]) -> Totals:
    medfee = fund_pay = own = cash = count = n = 0
    for line in lines:
        medfee += line.medfee_fen
        fund_pay += line.fund_pay_fen
        own += line.fund_own_fen
        cash += line.psn_cash_fen
        count += 1 if line.kind == "settlement" else -1
        n += 1
    return Totals(medfee, fund_pay, own, cash, count, n)
