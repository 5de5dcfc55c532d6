"""What a settlement knows of the patient's earlier admissions (ADR 0019, `PriorAdmissions`).

Counted from the store inside the settlement's transaction, after the person's accumulators
are locked: every settlement of the person queues on that lock, so "earlier" means settled
before this one (in the order the accumulators saw them) and two settlements racing cannot both
be the first admission. An admission counts once however many stages it was settled in; a
reversed settlement does not count; the admission being settled (its earlier stages) does not
count. The quarter and the month are the calendar's, of the discharge date (China time), as in
the what-if (service/policy/whatif.py). Only policies that use them pay for the read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from service.china_time import local_date
from service.policy import CompiledPolicy, PriorAdmissions, Visit
from service.policy.model import NO_PRIOR

COUNTED_MODES = frozenset({"per_hospital_year", "per_quarter"})


@dataclass(frozen=True, slots=True)
class OtherStay:
    """An active settlement of another admission of the person, in one of the plan years."""

    admission_id: int
    hospital_code: str
    year: int
    discharged_at: datetime
    deltas: Mapping[str, int]


def monthly_keys(policy: CompiledPolicy, visit: Visit, categories: frozenset[str]) -> set[str]:
    """The `<key>.paid` of the layers with a monthly cap in this situation."""
    return {p.key_paid for p in policy.plan(visit, categories) if p.monthly_cap_fen is not None}


def needs_prior(policy: CompiledPolicy, visit: Visit, categories: frozenset[str]) -> bool:
    """Does any layer of this situation read the earlier admissions? (Most policies: no, and
    the settlement then reads nothing more.)"""
    return any(
        p.deductible_mode in COUNTED_MODES or p.later_den or p.monthly_cap_fen is not None
        for p in policy.plan(visit, categories)
    )


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3


def prior_of(
    others: Iterable[OtherStay],
    *,
    year: int,
    hospital_code: str,
    discharged_on: date,
    monthly: set[str],
) -> PriorAdmissions:
    """The counts of `others` for a stay of plan year `year` discharged on `discharged_on`."""
    admissions: set[int] = set()
    at_hospital: set[int] = set()
    in_quarter: set[int] = set()
    paid: dict[str, int] = {}
    month = (discharged_on.year, discharged_on.month)
    for other in others:
        if other.year != year:
            continue
        admissions.add(other.admission_id)
        if other.hospital_code == hospital_code:
            at_hospital.add(other.admission_id)
        day = local_date(other.discharged_at)
        if _quarter(day) == _quarter(discharged_on):
            in_quarter.add(other.admission_id)
        if monthly and (day.year, day.month) == month:
            for key in monthly:
                paid[key] = paid.get(key, 0) + int(other.deltas.get(key, 0))
    if not admissions:
        return NO_PRIOR
    return PriorAdmissions(len(admissions), len(at_hospital), len(in_quarter), paid)
