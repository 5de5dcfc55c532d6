"""The year's running totals of one person (年度累计): whose they are, which of them a
settlement may read or move, and what moving them gives. Reading, locking and writing them is
the settlement store's (service/settlements/store.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.policy import CompiledPolicy, Visit

SETTLED_KEY = "visits.settled"
"""Moved by every settlement and reversal, so even a policy with no annual limits locks a row."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose year: a person in an insurance pool (the insured county) in a calendar year."""

    person_key: str
    pool: str
    year: int


def keys_for(
    policy: CompiledPolicy, visit: Visit, categories: frozenset[str], skip: frozenset[str]
) -> set[str]:
    """Every accumulator the engine can read or move for this situation."""
    keys = {SETTLED_KEY}
    for p in policy.plan(visit, categories):
        if not p.applies or p.code in skip:
            continue
        keys.add(p.key_paid)
        if p.kind == "ratio" and p.deductible_per_year:
            keys.add(p.key_deductible)
        if p.kind == "bands" and p.threshold_per_year:
            keys.add(p.key_eligible)
        if p.kind == "safety_net":
            keys.add(p.key_personal)
    return keys


def moved_values(locked: Mapping[str, int], deltas: Mapping[str, int]) -> dict[str, int]:
    """The new value of every key the deltas move; every one of them must have been locked."""
    moved = {k: d for k, d in deltas.items() if d}
    missing = set(moved) - set(locked)
    if missing:
        raise RuntimeError(f"accumulators moved without being locked: {sorted(missing)}")
    return {key: locked[key] + delta for key, delta in moved.items()}
