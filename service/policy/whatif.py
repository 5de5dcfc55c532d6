"""What-if (政策测算): a period's settlements re-settled under a proposed policy, in bulk.

Pure like the engine: the caller hands in the stored settlements in the order they were made
(each with what it paid then), and the proposed policy; every one is settled again, in order,
with accumulators of its own (per person, pool and year), and the report compares: per fund,
what was paid and what would be; the actual reimbursement ratio's distribution per patient
category with how many stays fall below the target; the patients whose share would rise most.

A stay settled in stages (中途结算, ADR 0018) is re-settled as the live settlement settles it:
each stage is the stay so far, on the accumulators before the stay, less what the earlier
stages of the same plan year paid (a stage split at a plan-year end continues them in its first
year's part, and the next stage continues its last year's part); the admission counts once
among the earlier admissions. A stay the proposal splits at
a plan-year end (`cross_year: split`) comes with its parts: each earlier part is settled on
its own year's accumulators (which the caller may build with stays of that year that are
replayed but not reported), the last on the stay's year.

The year-end top-up (二次救助, `year_end` entries, service/policy/year_end.py) is part of what a
policy costs: over each person's year, what the entries of the versions in force at the year
end pay on the stored results ("now", as the year-end run computes it) and what the proposal's
entries pay on the proposal's results; both are in the fund totals, the patients' shares and
the rising patients, and have lines of their own. A stay split at a plan-year end counts each
part in its own year, as the run counts it (ADR 0021, amendment): now its stored parts
(``Stay.now_parts``), proposed the parts the proposal cuts; so a stay of another year replayed
for the accumulators (the next year's, admitted before it began) brings its part in the year.
The top-up is computed for the year the caller names (else the years of the reported stays).

A parent's (province's) proposal reaches a county with a version of its own through that
version: the caller passes, by pool, the policy that would be in force there were the proposal
adopted (`by_pool`), and those pools' stays and year-end entries are settled under it. Nothing
here reads or writes anything stored.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from service.policy.compiled import CompiledPolicy
from service.policy.engine import settle
from service.policy.model import Bill, PriorAdmissions, SettlementResult, Visit
from service.policy.money import share_units
from service.policy.year_end import settle_year_end
from service.policy.year_parts import combined_layers

__all__ = [
    "BUCKET_EDGES",
    "FundLine",
    "Part",
    "PatientLine",
    "RatioLine",
    "Stay",
    "WhatIfReport",
    "YearEndLine",
    "YearShare",
    "what_if",
]

BUCKET_EDGES: tuple[int, ...] = (5000, 6000, 7000, 8000, 8500, 9000, 9500)
"""Ratio buckets in units of 0.0001: below 0.50, [0.50, 0.60), ..., [0.90, 0.95), 0.95 and up."""

_NOTHING: Mapping[str, int] = MappingProxyType({})

ALL = "*"
"""The category line that counts every stay once."""


class Part(NamedTuple):
    """One plan year's part of a stay split at a plan-year end (in date order)."""

    year: int
    last_day: date
    bill: Bill
    given: Mapping[str, int]
    policy: CompiledPolicy | None = None
    """The version the part is settled under, where it is not the stay's: an earlier plan
    year's part under that year's (ADR 0018, addendum)."""


class YearShare(NamedTuple):
    """What the year-end top-up reads of a stay's part in one plan year: its cost and the
    patient's share, in catalogue and all (fen)."""

    year: int
    total_fen: int
    in_policy_fen: int
    patient_fen: int
    patient_in_policy_fen: int


@dataclass(frozen=True, slots=True)
class Stay:
    """One stored settlement to settle again, with what it paid then (fen by fund type)."""

    person_key: str
    person_masked: str
    pool: str
    year: int
    hospital_code: str
    visit: Visit
    categories: frozenset[str]
    bill: Bill
    given: Mapping[str, int]
    keep_fund_types: frozenset[str] | None  # insurance-only settlements keep these funds only
    paid_now: Mapping[str, int]
    waived_now_fen: int
    patient_now_fen: int
    admission: int | None = None
    """A stage of this admission (a stay settled in stages), else None: an ordinary stay."""
    patient_in_policy_now_fen: int | None = None
    """The patient's in-catalogue share as stored (with ``patient_now_fen``, what the year-end
    top-up reads of a stay); needed only when a year-end entry is in play."""
    parts: tuple[Part, ...] = ()
    """The stay's parts when the proposal splits it at a plan-year end, else ()."""
    reported: bool = True
    """False: a stay of another year replayed only for the accumulators a split part needs."""
    policy: CompiledPolicy | None = None
    """The version it is settled under, where it is not its pool's: a stay of an earlier plan
    year, replayed under that year's."""
    now_parts: tuple[YearShare, ...] = ()
    """As stored, the parts of a stay split at a plan-year end, each counted in its own year by
    the year-end top-up now; () counts the stay whole in its year (``patient_now_fen`` and
    ``patient_in_policy_now_fen``), as a run counts a stay stored whole or split before its
    parts named their in-catalogue figures."""


class FundLine(NamedTuple):
    fund_type: str
    now_fen: int
    proposed_fen: int
    difference_fen: int


class RatioLine(NamedTuple):
    """The actual reimbursement ratio's distribution (counts per ``BUCKET_EDGES`` bucket)."""

    category: str
    stays: int
    now: tuple[int, ...]
    proposed: tuple[int, ...]
    below_target_now: int
    below_target_proposed: int


class PatientLine(NamedTuple):
    person_masked: str
    stays: int
    now_fen: int
    proposed_fen: int
    rise_fen: int


class YearEndLine(NamedTuple):
    """One ``year_end`` entry over every person's year: now and under the proposal."""

    fund_type: str
    code: str
    name: str
    persons_now: int  # people it pays something, now
    persons_proposed: int
    now_fen: int
    proposed_fen: int
    difference_fen: int


class WhatIfReport(NamedTuple):
    policy_version: str
    policy_hash: str
    settlements: int
    funds: tuple[FundLine, ...]
    funds_now_fen: int
    funds_proposed_fen: int
    patient_now_fen: int
    patient_proposed_fen: int
    ratios: tuple[RatioLine, ...]
    rising: tuple[PatientLine, ...]
    year_end: tuple[YearEndLine, ...] = ()


def _bucket(units: int) -> int:
    for i, edge in enumerate(BUCKET_EDGES):
        if units < edge:
            return i
    return len(BUCKET_EDGES)


class _Staged:
    """An admission settled in stages, as far as the proposal has settled it this plan year:
    the stay's bill and external amounts so far, the settlement of the stay so far, the
    quarters it was counted in and what its stages paid by month."""

    __slots__ = ("bill", "given", "monthly", "quarters", "result")

    def __init__(self, bill: Bill, given: Mapping[str, int], result: SettlementResult) -> None:
        self.bill = bill
        self.given = given
        self.result = result
        self.quarters: set[int] = set()
        self.monthly: dict[int, dict[str, int]] = {}


class _Counted:
    """The stays (or their parts) the year-end top-up counts in a person's year, in settlement
    order: each one's visit, and its cost and the patient's shares four by four (``YearShare``
    without the year). Plain ints in an array, so that keeping a year's results until its end
    adds nothing for the garbage collector to walk."""

    __slots__ = ("categories", "figures", "visits")

    def __init__(self) -> None:
        self.visits: list[Visit] = []
        self.figures = array("q")
        self.categories: frozenset[str] = frozenset()  # the latest stay's, as a run reads them

    def add(self, visit: Visit, categories: frozenset[str], *figures: int) -> None:
        """A stay's (or part's) cost, all and in catalogue, and the patient's shares likewise."""
        self.visits.append(visit)
        self.categories = categories
        self.figures.extend(figures)

    def stays(self) -> list[tuple[Visit, Bill, SettlementResult]]:
        f = self.figures
        out = []
        for k, visit in enumerate(self.visits):
            total, in_policy, patient, patient_in_policy = f[4 * k : 4 * k + 4]
            out.append(
                (
                    visit,
                    Bill(total, in_policy, total - in_policy),
                    _shares(in_policy=patient_in_policy, patient=patient),
                )
            )
        return out


class _YearEnd:
    """What the year-end top-up counts in a person's year, now and proposed."""

    __slots__ = ("masked", "new", "now")

    def __init__(self, masked: str) -> None:
        self.masked = masked
        self.now = _Counted()
        self.new = _Counted()


class _Year:
    """One person's plan year as the proposal would have run it (and, when a year-end entry is
    in play, the stays of the year as stored and as re-settled)."""

    __slots__ = (
        "accumulators",
        "admissions",
        "by_hospital",
        "by_month",
        "by_quarter",
        "staged",
        "year_end",
    )

    def __init__(self) -> None:
        self.accumulators: dict[str, int] = {}
        self.admissions = 0
        self.by_hospital: dict[str, int] = {}
        self.by_quarter: dict[int, int] = {}
        self.by_month: dict[int, dict[str, int]] = {}
        self.staged: dict[int, _Staged] = {}
        # When a year-end entry is in play: what the top-up counts in the year, now and
        # proposed (a stay, or its part in the year).
        self.year_end: _YearEnd | None = None

    def prior(
        self, hospital: str, quarter: int, month: int, staged: _Staged | None
    ) -> PriorAdmissions:
        """The earlier admissions, as the live settlement counts them: a later stage's own
        admission (its earlier stages) is not one of them."""
        paid = self.by_month.get(month, {})
        if staged is None:
            return PriorAdmissions(
                self.admissions,
                self.by_hospital.get(hospital, 0),
                self.by_quarter.get(quarter, 0),
                paid,
            )
        own = staged.monthly.get(month, {})
        return PriorAdmissions(
            self.admissions - 1,
            self.by_hospital.get(hospital, 0) - 1,
            self.by_quarter.get(quarter, 0) - (quarter in staged.quarters),
            {key: fen - own.get(key, 0) for key, fen in paid.items()},
        )

    def count(self, hospital: str, quarter: int, staged: _Staged | None) -> None:
        """Count the stay's admission (once however many stages it has)."""
        if staged is None or not staged.quarters:
            self.admissions += 1
            self.by_hospital[hospital] = self.by_hospital.get(hospital, 0) + 1
        if staged is None or quarter not in staged.quarters:
            self.by_quarter[quarter] = self.by_quarter.get(quarter, 0) + 1
        if staged is not None:
            staged.quarters.add(quarter)

    def move(self, deltas: Mapping[str, int], month: int, staged: _Staged | None) -> None:
        acc = self.accumulators
        monthly = self.by_month.setdefault(month, {})
        own = staged.monthly.setdefault(month, {}) if staged is not None else None
        for key, delta in deltas.items():
            acc[key] = acc.get(key, 0) + delta
            if key.endswith(".paid"):
                monthly[key] = monthly.get(key, 0) + delta
                if own is not None:
                    own[key] = own.get(key, 0) + delta


def what_if(
    stays: Iterable[Stay],
    proposed: CompiledPolicy,
    *,
    by_pool: Mapping[str, CompiledPolicy] | None = None,
    now_year_end: Mapping[str, CompiledPolicy | None] | None = None,
    over: int | None = None,
    top: int = 10,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> WhatIfReport:
    """Settle every stay again under ``proposed``, in the order given, and compare.
    ``by_pool``: by pool, the policy a stay of that pool is settled under instead (a county's
    own version layered over a parent's proposal); a pool not in it takes ``proposed``. The
    report names ``proposed``. ``now_year_end``: by pool, the version whose ``year_end``
    entries a year-end run of the year would apply now (None: no year-end now); every stay
    then needs ``patient_in_policy_now_fen``. ``over``: the plan year whose top-up is priced
    (the part in it of a later year's split stay counts even for a person with no stay
    reported); None: the years of the stays reported."""
    pools = by_pool or {}
    targets_of: dict[str, dict[str, int]] = {}  # by policy hash
    now_policies = now_year_end or {}
    year_end = any(
        p is not None and p.document.year_end
        for p in (proposed, *pools.values(), *now_policies.values())
    )
    years: dict[tuple[str, str, int], _Year] = {}
    funds_now: dict[str, int] = {}
    funds_new: dict[str, int] = {}
    ratio_now: dict[str, list[int]] = {}
    ratio_new: dict[str, list[int]] = {}
    below_now: dict[str, int] = {}
    below_new: dict[str, int] = {}
    patients: dict[str, list[int | str]] = {}  # person -> [masked, stays, now, proposed]
    skip_cache: _SkipCache = {}
    n = patient_now = patient_new = 0
    buckets = len(BUCKET_EDGES) + 1
    reported_years: set[int] = set() if over is None else {over}
    for stay in stays:
        scope = (stay.person_key, stay.pool, stay.year)
        year = years.get(scope)
        if year is None:
            year = years[scope] = _Year()
        policy = stay.policy or pools.get(stay.pool, proposed)
        visit = stay.visit
        quarter = (visit.discharged_on.month - 1) // 3
        month = visit.discharged_on.month
        staged = None if stay.admission is None else year.staged.get(stay.admission)
        skip = _skipped(policy, stay, skip_cache)
        given = _given(policy, visit, stay.categories, stay.given)
        prior = year.prior(stay.hospital_code, quarter, month, staged)
        part_results: list[SettlementResult] = []
        if stay.parts and staged is None:
            result, last, part_results = _split(
                policy, stay, years, year.accumulators, prior, skip_cache
            )
            if stay.admission is not None:  # the next stage continues the last year's part
                staged = year.staged[stay.admission] = last
        elif staged is None:
            result = settle(
                policy,
                visit=visit,
                categories=stay.categories,
                bill=stay.bill,
                year=year.accumulators,
                skip_layers=skip,
                given=given,
                prior=prior,
            )
            if stay.admission is not None:
                staged = year.staged[stay.admission] = _Staged(stay.bill, given, result)
        else:
            result = _continued(
                policy, stay, staged, _Part(stay.bill, given, year.accumulators, skip, prior)
            )
        year.move(result.deltas, month, staged)
        year.count(stay.hospital_code, quarter, staged)
        if year_end:
            _count_year_end(stay, years, result, part_results)
        if not stay.reported:
            continue
        n += 1
        if over is None:
            reported_years.add(stay.year)
        for fund_type, fen in stay.paid_now.items():
            funds_now[fund_type] = funds_now.get(fund_type, 0) + fen
        for layer in result.layers:
            if layer.amount_fen:
                funds_new[layer.fund_type] = funds_new.get(layer.fund_type, 0) + layer.amount_fen
        total = stay.bill.total_fen
        paid_now = total - stay.waived_now_fen - stay.patient_now_fen
        now_units = share_units(paid_now, total - stay.waived_now_fen)
        new_units = share_units(result.funds_total_fen, total - result.waived_fen)
        # Only a target the stay's policy states is counted against: a province sets its own.
        targets = targets_of.get(policy.content_hash)
        if targets is None:
            targets = targets_of[policy.content_hash] = {
                visit_type: int(Decimal(ratio) * 10_000)
                for visit_type, ratio in policy.controls.target_ratio.items()
            }
        target = targets.get(visit.visit_type)
        for category in (ALL, *sorted(stay.categories)):
            if category not in ratio_now:
                ratio_now[category] = [0] * buckets
                ratio_new[category] = [0] * buckets
                below_now[category] = below_new[category] = 0
            ratio_now[category][_bucket(now_units)] += 1
            ratio_new[category][_bucket(new_units)] += 1
            if total and target is not None:
                below_now[category] += now_units < target
                below_new[category] += new_units < target
        patient_now += stay.patient_now_fen
        patient_new += result.patient_pays_fen
        person = patients.get(stay.person_key)
        if person is None:
            person = patients[stay.person_key] = [stay.person_masked, 0, 0, 0]
        person[1] = int(person[1]) + 1
        person[2] = int(person[2]) + stay.patient_now_fen
        person[3] = int(person[3]) + result.patient_pays_fen
        if progress is not None and n % progress_every == 0:
            progress(n)
    if progress is not None and n % progress_every:
        progress(n)
    year_end_lines: tuple[YearEndLine, ...] = ()
    if year_end:
        year_end_lines, paid = _year_ends(years, reported_years, proposed, pools, now_policies)
        for fund_type, (now_fen, new_fen) in paid.funds.items():
            funds_now[fund_type] = funds_now.get(fund_type, 0) + now_fen
            funds_new[fund_type] = funds_new.get(fund_type, 0) + new_fen
        for person_key, (masked, now_fen, new_fen) in paid.persons.items():
            person = patients.get(person_key)
            if person is None:  # only a later year's stay has a part in the year
                person = patients[person_key] = [masked, 0, 0, 0]
            person[2] = int(person[2]) - now_fen
            person[3] = int(person[3]) - new_fen
            patient_now -= now_fen
            patient_new -= new_fen
    return _report(
        proposed,
        n,
        funds_now,
        funds_new,
        (patient_now, patient_new),
        (ratio_now, ratio_new, below_now, below_new),
        patients,
        top,
    )._replace(year_end=year_end_lines)


_SkipCache = dict[tuple[str, Visit, frozenset[str], frozenset[str]], frozenset[str]]


class _Part(NamedTuple):
    """What settling a stay (or a year's part of it) needs beyond the policy and the stay."""

    bill: Bill
    given: Mapping[str, int]
    accumulators: Mapping[str, int]
    skip: frozenset[str]
    prior: PriorAdmissions


def _continued(
    policy: CompiledPolicy, stay: Stay, staged: _Staged, part: _Part
) -> SettlementResult:
    """A later stage (or a year's part of one): the stay so far on the accumulators before the
    stay, less what the earlier stages paid (service/settlements/stages.py, as settled live);
    ``staged`` then holds the stay so far."""
    so_far = _so_far(staged.bill, part.bill)
    given = {c: staged.given.get(c, 0) + part.given.get(c, 0) for c in {*staged.given, *part.given}}
    base = dict(part.accumulators)
    for key, delta in staged.result.deltas.items():
        base[key] = base.get(key, 0) - delta
    cumulative = settle(
        policy,
        visit=stay.visit,
        categories=stay.categories,
        bill=so_far,
        year=base,
        skip_layers=part.skip,
        given=given,
        prior=part.prior,
    )
    result = _stage(cumulative, staged.result, part.bill)
    staged.bill, staged.given, staged.result = so_far, given, cumulative
    return result


def _skipped(policy: CompiledPolicy, stay: Stay, cache: _SkipCache) -> frozenset[str]:
    """The layers an insurance-only settlement of the stay leaves to others under ``policy``
    (none for a one-stop settlement), kept by situation: most stays share a few."""
    if stay.keep_fund_types is None:
        return frozenset()
    situation = (policy.content_hash, stay.visit, stay.categories, stay.keep_fund_types)
    found = cache.get(situation)
    if found is None:
        found = cache[situation] = frozenset(
            p.code
            for p in policy.plan(stay.visit, stay.categories)
            if p.fund_type not in stay.keep_fund_types
        )
    return found


def _split(
    policy: CompiledPolicy,
    stay: Stay,
    years: dict[tuple[str, str, int], _Year],
    accumulators: Mapping[str, int],
    prior: PriorAdmissions,
    skip_cache: _SkipCache,
) -> tuple[SettlementResult, _Staged, list[SettlementResult]]:
    """A stay split at plan-year ends, as settled live (service/settlements/cross_year.py): each
    earlier part under its own year's version (``part.policy``, else the stay's) on its own
    year's accumulators and counts, which it moves but where it does not count as an admission
    (continuing the stay's earlier stages of that year, if any); the last part on the stay's
    year. The stay's result is the parts added up, with the last part's deltas (the caller
    moves the stay's year by them), the last part as the stay so far for a next stage, and
    each part's own result (in the parts' order)."""
    visit, categories = stay.visit, stay.categories
    results = []
    for part in stay.parts[:-1]:
        scope = (stay.person_key, stay.pool, part.year)
        other = years.get(scope)
        if other is None:
            other = years[scope] = _Year()
        month = part.last_day.month
        quarter = (month - 1) // 3
        ruling = part.policy or policy
        staged = None if stay.admission is None else other.staged.get(stay.admission)
        settled = _Part(
            part.bill,
            _given(ruling, visit, categories, part.given),
            other.accumulators,
            _skipped(ruling, stay, skip_cache),
            other.prior(stay.hospital_code, quarter, month, staged),
        )
        if staged is None:
            result = settle(
                ruling,
                visit=visit,
                categories=categories,
                bill=part.bill,
                year=other.accumulators,
                skip_layers=settled.skip,
                given=settled.given,
                prior=settled.prior,
            )
        else:
            result = _continued(ruling, stay, staged, settled)
        other.move(result.deltas, month, staged)
        results.append(result)
    last = stay.parts[-1]
    last_given = _given(policy, visit, categories, last.given)
    results.append(
        settle(
            policy,
            visit=visit,
            categories=categories,
            bill=last.bill,
            year=accumulators,
            skip_layers=_skipped(policy, stay, skip_cache),
            given=last_given,
            prior=prior,
        )
    )
    layers = combined_layers(results)
    return (
        results[-1]._replace(
            layers=layers,
            total_fen=sum(r.total_fen for r in results),
            waived_fen=sum(r.waived_fen for r in results),
            funds_total_fen=sum(r.funds_total_fen for r in results),
            patient_pays_fen=sum(r.patient_pays_fen for r in results),
            patient_in_policy_fen=sum(r.patient_in_policy_fen for r in results),
            patient_out_of_policy_fen=sum(r.patient_out_of_policy_fen for r in results),
        ),
        _Staged(last.bill, last_given, results[-1]),
        results,
    )


def _shares(*, in_policy: int, patient: int) -> SettlementResult:
    """A result holding only the patient's shares: all the year-end top-up reads of a stay
    (service/policy/year_end.py), built when the year is computed."""
    return SettlementResult(
        (),
        0,
        0,
        0,
        patient,
        in_policy,
        patient - in_policy,
        Decimal(0),
        Decimal(0),
        (),
        _NOTHING,
        (),
        "",
        "",
    )


def _so_far(before: Bill, stage: Bill) -> Bill:
    """The stay's bill up to and including this stage; lines only if every stage has them."""
    keep = bool(before.lines and stage.lines)
    return Bill(
        before.total_fen + stage.total_fen,
        before.in_policy_fen + stage.in_policy_fen,
        before.out_of_policy_fen + stage.out_of_policy_fen,
        before.lines + stage.lines if keep else (),
    )


def _stage(cumulative: SettlementResult, before: SettlementResult, bill: Bill) -> SettlementResult:
    """A later stage's money: the stay so far less the stay up to the stage before (which is
    what the earlier stages paid together). The what-if computes its own ratios."""
    earlier = {layer.code: layer for layer in before.layers}
    layers = tuple(
        layer
        if (e := earlier.get(layer.code)) is None
        else layer._replace(
            base_fen=layer.base_fen - e.base_fen,
            deductible_fen=layer.deductible_fen - e.deductible_fen,
            amount_fen=layer.amount_fen - e.amount_fen,
        )
        for layer in cumulative.layers
    )
    deltas = dict(cumulative.deltas)
    for key, delta in before.deltas.items():
        deltas[key] = deltas.get(key, 0) - delta
    c, b = cumulative, before
    return c._replace(
        layers=layers,
        total_fen=bill.total_fen,
        waived_fen=c.waived_fen - b.waived_fen,
        funds_total_fen=c.funds_total_fen - b.funds_total_fen,
        patient_pays_fen=c.patient_pays_fen - b.patient_pays_fen,
        patient_in_policy_fen=c.patient_in_policy_fen - b.patient_in_policy_fen,
        patient_out_of_policy_fen=c.patient_out_of_policy_fen - b.patient_out_of_policy_fen,
        deltas={key: delta for key, delta in deltas.items() if delta},
    )


def _count_year_end(
    stay: Stay,
    years: dict[tuple[str, str, int], _Year],
    result: SettlementResult,
    part_results: list[SettlementResult],
) -> None:
    """Count the stay, or each of its parts in its own year, in what the year-end top-up reads:
    now as stored (``stay.now_parts``, else the stay whole), proposed as the proposal settled
    it (``part_results``: the parts it cut, else the stay whole)."""

    def year_of(plan_year: int) -> _YearEnd:
        scope = (stay.person_key, stay.pool, plan_year)
        year = years.get(scope)
        if year is None:
            year = years[scope] = _Year()
        if year.year_end is None:
            year.year_end = _YearEnd(stay.person_masked)
        return year.year_end

    visit, categories, whole = stay.visit, stay.categories, stay.bill
    if stay.now_parts:
        for share in stay.now_parts:
            year_of(share.year).now.add(visit, categories, *share[1:])
    elif stay.patient_in_policy_now_fen is None:
        raise ValueError("a year-end entry is in play: every stay needs patient_in_policy_now_fen")
    else:
        year_of(stay.year).now.add(
            visit,
            categories,
            whole.total_fen,
            whole.in_policy_fen,
            stay.patient_now_fen,
            stay.patient_in_policy_now_fen,
        )
    if not part_results:
        year_of(stay.year).new.add(
            visit,
            categories,
            whole.total_fen,
            whole.in_policy_fen,
            result.patient_pays_fen,
            result.patient_in_policy_fen,
        )
    for part, r in zip(stay.parts, part_results, strict=True):
        year_of(part.year).new.add(
            visit,
            categories,
            part.bill.total_fen,
            part.bill.in_policy_fen,
            r.patient_pays_fen,
            r.patient_in_policy_fen,
        )


class _YearEndPaid(NamedTuple):
    funds: dict[str, tuple[int, int]]  # fund type -> (now, proposed)
    persons: dict[str, tuple[str, int, int]]  # person key -> (masked, now, proposed)


def _year_ends(
    years: Mapping[tuple[str, str, int], _Year],
    reported_years: set[int],
    proposed: CompiledPolicy,
    by_pool: Mapping[str, CompiledPolicy],
    now_policies: Mapping[str, CompiledPolicy | None],
) -> tuple[tuple[YearEndLine, ...], _YearEndPaid]:
    """Every person's year-end top-up in the ``reported_years`` now (the version in force at
    the year end for the pool, on the stored results) and under the proposal (the pool's
    policy in ``by_pool``, else the proposal, on the proposal's results)."""
    lines: dict[tuple[str, str], list[Any]] = {}  # -> [name, persons now, new, now, new]
    funds: dict[str, list[int]] = {}
    persons: dict[str, list[Any]] = {}
    for (person_key, pool, plan_year), year in years.items():
        counting = year.year_end
        if counting is None or plan_year not in reported_years:  # replayed for the accumulators
            continue
        sides = (
            (now_policies.get(pool), counting.now),
            (by_pool.get(pool, proposed), counting.new),
        )
        for i, (policy, counted) in enumerate(sides):
            if policy is None or not policy.document.year_end or not counted.visits:
                continue
            stays = counted.stays()
            for f in settle_year_end(policy, categories=counted.categories, stays=stays):
                line = lines.setdefault((f.fund_type, f.code), [f.name, 0, 0, 0, 0])
                line[1 + i] += f.amount_fen > 0
                line[3 + i] += f.amount_fen
                funds.setdefault(f.fund_type, [0, 0])[i] += f.amount_fen
                persons.setdefault(person_key, [counting.masked, 0, 0])[1 + i] += f.amount_fen
    out = tuple(
        YearEndLine(fund, code, name, a, b, now_fen, new_fen, new_fen - now_fen)
        for (fund, code), (name, a, b, now_fen, new_fen) in sorted(lines.items())
    )
    return out, _YearEndPaid(
        {k: (v[0], v[1]) for k, v in funds.items()},
        {k: (str(v[0]), int(v[1]), int(v[2])) for k, v in persons.items()},
    )


def _given(
    policy: CompiledPolicy, visit: Visit, categories: frozenset[str], given: Mapping[str, int]
) -> Mapping[str, int]:
    """The stored external amounts; an external layer the stay never had pays 0."""
    out = dict(given)
    for p in policy.plan(visit, categories):
        if p.kind == "external" and p.code not in out:
            out[p.code] = 0
    return out


def _report(
    proposed: CompiledPolicy,
    n: int,
    funds_now: dict[str, int],
    funds_new: dict[str, int],
    patient: tuple[int, int],
    ratio: tuple[dict[str, list[int]], dict[str, list[int]], dict[str, int], dict[str, int]],
    patients: dict[str, list[int | str]],
    top: int,
) -> WhatIfReport:
    ratio_now, ratio_new, below_now, below_new = ratio
    funds = tuple(
        FundLine(
            f, funds_now.get(f, 0), funds_new.get(f, 0), funds_new.get(f, 0) - funds_now.get(f, 0)
        )
        for f in sorted(set(funds_now) | set(funds_new))
    )
    ratios = tuple(
        RatioLine(
            category,
            sum(ratio_now[category]),
            tuple(ratio_now[category]),
            tuple(ratio_new[category]),
            below_now[category],
            below_new[category],
        )
        for category in sorted(ratio_now)
    )
    rising = sorted(
        (
            PatientLine(str(m), int(s), int(a), int(b), int(b) - int(a))
            for m, s, a, b in patients.values()
            if int(b) > int(a)
        ),
        key=lambda line: (-line.rise_fen, line.person_masked),
    )[:top]
    return WhatIfReport(
        proposed.version,
        proposed.content_hash,
        n,
        funds,
        sum(line.now_fen for line in funds),
        sum(line.proposed_fen for line in funds),
        patient[0],
        patient[1],
        ratios,
        tuple(rising),
    )
