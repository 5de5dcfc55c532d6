"""What-if (政策测算): a period's settlements re-settled under a proposed policy, in bulk.

Pure like the engine: the caller hands in the stored settlements in the order they were made
(each with what it paid then), and the proposed policy; every one is settled again, in order,
with accumulators of its own (per person, pool and year), and the report compares: per fund,
what was paid and what would be; the actual reimbursement ratio's distribution per patient
category with how many stays fall below the target; the patients whose share would rise most.
Nothing here reads or writes anything stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from service.policy.compiled import CompiledPolicy
from service.policy.engine import settle
from service.policy.model import Bill, PriorAdmissions, Visit
from service.policy.money import share_units

__all__ = [
    "BUCKET_EDGES",
    "FundLine",
    "PatientLine",
    "RatioLine",
    "Stay",
    "WhatIfReport",
    "what_if",
]

BUCKET_EDGES: tuple[int, ...] = (5000, 6000, 7000, 8000, 8500, 9000, 9500)
"""Ratio buckets in units of 0.0001: below 0.50, [0.50, 0.60), ..., [0.90, 0.95), 0.95 and up."""

DEFAULT_TARGETS = {"inpatient": 9000, "chronic_outpatient": 8000}
"""The programme's usual targets (90% inpatient, 80% chronic outpatient) where the proposed
policy states none."""

ALL = "*"
"""The category line that counts every stay once."""


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


def _bucket(units: int) -> int:
    for i, edge in enumerate(BUCKET_EDGES):
        if units < edge:
            return i
    return len(BUCKET_EDGES)


class _Year:
    """One person's plan year as the proposal would have run it."""

    __slots__ = ("accumulators", "admissions", "by_hospital", "by_month", "by_quarter")

    def __init__(self) -> None:
        self.accumulators: dict[str, int] = {}
        self.admissions = 0
        self.by_hospital: dict[str, int] = {}
        self.by_quarter: dict[int, int] = {}
        self.by_month: dict[int, dict[str, int]] = {}


def what_if(
    stays: Iterable[Stay],
    proposed: CompiledPolicy,
    *,
    top: int = 10,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> WhatIfReport:
    """Settle every stay again under ``proposed``, in the order given, and compare."""
    targets = {
        visit_type: int(Decimal(ratio) * 10_000)
        for visit_type, ratio in proposed.controls.target_ratio.items()
    }
    years: dict[tuple[str, str, int], _Year] = {}
    funds_now: dict[str, int] = {}
    funds_new: dict[str, int] = {}
    ratio_now: dict[str, list[int]] = {}
    ratio_new: dict[str, list[int]] = {}
    below_now: dict[str, int] = {}
    below_new: dict[str, int] = {}
    patients: dict[str, list[int | str]] = {}  # person -> [masked, stays, now, proposed]
    skip_cache: dict[tuple[Visit, frozenset[str], frozenset[str]], frozenset[str]] = {}
    n = patient_now = patient_new = 0
    buckets = len(BUCKET_EDGES) + 1
    for stay in stays:
        n += 1
        scope = (stay.person_key, stay.pool, stay.year)
        year = years.get(scope)
        if year is None:
            year = years[scope] = _Year()
        visit = stay.visit
        quarter = (visit.discharged_on.month - 1) // 3
        month = visit.discharged_on.month
        prior = PriorAdmissions(
            year.admissions,
            year.by_hospital.get(stay.hospital_code, 0),
            year.by_quarter.get(quarter, 0),
            year.by_month.get(month, {}),
        )
        skip: frozenset[str] = frozenset()
        if stay.keep_fund_types is not None:
            situation = (visit, stay.categories, stay.keep_fund_types)
            found = skip_cache.get(situation)
            if found is None:
                found = skip_cache[situation] = frozenset(
                    p.code
                    for p in proposed.plan(visit, stay.categories)
                    if p.fund_type not in stay.keep_fund_types
                )
            skip = found
        given = _given(proposed, visit, stay.categories, stay.given)
        result = settle(
            proposed,
            visit=visit,
            categories=stay.categories,
            bill=stay.bill,
            year=year.accumulators,
            skip_layers=skip,
            given=given,
            prior=prior,
        )
        acc = year.accumulators
        monthly = year.by_month.setdefault(month, {})
        for key, delta in result.deltas.items():
            acc[key] = acc.get(key, 0) + delta
            if key.endswith(".paid"):
                monthly[key] = monthly.get(key, 0) + delta
        year.admissions += 1
        year.by_hospital[stay.hospital_code] = year.by_hospital.get(stay.hospital_code, 0) + 1
        year.by_quarter[quarter] = year.by_quarter.get(quarter, 0) + 1
        for fund_type, fen in stay.paid_now.items():
            funds_now[fund_type] = funds_now.get(fund_type, 0) + fen
        for layer in result.layers:
            if layer.amount_fen:
                funds_new[layer.fund_type] = funds_new.get(layer.fund_type, 0) + layer.amount_fen
        total = stay.bill.total_fen
        paid_now = total - stay.waived_now_fen - stay.patient_now_fen
        now_units = share_units(paid_now, total - stay.waived_now_fen)
        new_units = share_units(result.funds_total_fen, total - result.waived_fen)
        target = targets.get(visit.visit_type, DEFAULT_TARGETS.get(visit.visit_type, 0))
        for category in (ALL, *sorted(stay.categories)):
            if category not in ratio_now:
                ratio_now[category] = [0] * buckets
                ratio_new[category] = [0] * buckets
                below_now[category] = below_new[category] = 0
            ratio_now[category][_bucket(now_units)] += 1
            ratio_new[category][_bucket(new_units)] += 1
            if total:
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
    return _report(
        proposed,
        n,
        funds_now,
        funds_new,
        (patient_now, patient_new),
        (ratio_now, ratio_new, below_now, below_new),
        patients,
        top,
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
