"""Plain helpers for the engine tests: shipped policies, visits, bills (no fixtures)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

from service.policy import Bill, CompiledPolicy, Visit, load_policies, select_policy, yuan_to_fen

DATA = Path(__file__).resolve().parents[2] / "service" / "policy" / "data"


@cache
def shipped() -> tuple[CompiledPolicy, ...]:
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(DATA.glob("*.yaml"))}
    return tuple(load_policies(texts))


def policy_for(region: str, on: date) -> CompiledPolicy:
    policy = select_policy(shipped(), insured_region=region, on=on)
    assert policy is not None, f"no shipped policy for {region} on {on}"
    return policy


def fen(yuan: str) -> int:
    return yuan_to_fen(yuan)


def bill(in_policy: str, out_of_policy: str = "0.00") -> Bill:
    inside, outside = fen(in_policy), fen(out_of_policy)
    return Bill(total_fen=inside + outside, in_policy_fen=inside, out_of_policy_fen=outside)


def visit(
    *,
    visit_type: str = "inpatient",
    level: str = "secondary",
    tier: str = "county",
    location: str = "in_county",
    referred: bool = False,
    designated: bool = True,
    on: date = date(2024, 3, 1),
) -> Visit:
    return Visit(
        visit_type=visit_type,
        hospital_level=level,
        hospital_tier=tier,
        location=location,
        referred=referred,
        designated=designated,
        admitted_on=on,
        discharged_on=on,
    )


def add(year: Mapping[str, int], deltas: Mapping[str, int]) -> dict[str, int]:
    """The year's accumulators after applying deltas."""
    out = dict(year)
    for key, value in deltas.items():
        out[key] = out.get(key, 0) + value
    return {k: v for k, v in out.items() if v}
