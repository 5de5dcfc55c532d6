"""Settlements per second per core for the demo county's 5-layer policy.

Plain script: ``python bench/bench_engine.py``. Policies are parsed and compiled once, as the
service does at start-up; each settlement then runs the hot path only (integer arithmetic on
a cached plan). Prints the best and the median of several rounds, trace off and on.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.policy import Bill, CompiledPolicy, Visit, load_policies, select_policy, settle  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "service" / "policy" / "data"
ROUNDS = 7


def _policy() -> CompiledPolicy:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.yaml"))}
    policy = select_policy(load_policies(texts), insured_region="990102", on=date(2024, 6, 1))
    assert policy is not None
    return policy


def _rate(policy: CompiledPolicy, *, trace: bool, repeat: int) -> float:
    visit = Visit(
        "inpatient",
        "secondary",
        "county",
        "in_county",
        False,
        True,
        date(2024, 6, 1),
        date(2024, 6, 9),
    )
    bills = [
        Bill(total_fen=t, in_policy_fen=t - t // 20, out_of_policy_fen=t // 20)
        for t in range(1_000_00, 300_000_00, 2_999_99)
    ]
    years: list[dict[str, int]] = [
        {},
        {"critical_illness.eligible": 8_000_00, "safety_net.personal_paid": 1_000_00},
    ]
    categories = frozenset({"registered_poor"})
    start = time.perf_counter()
    for _ in range(repeat):
        for bill in bills:
            for year in years:
                settle(
                    policy, visit=visit, categories=categories, bill=bill, year=year, trace=trace
                )
    return repeat * len(bills) * len(years) / (time.perf_counter() - start)


def main() -> None:
    start = time.perf_counter()
    policy = _policy()
    load_ms = (time.perf_counter() - start) * 1000
    layers = len(
        policy.plan(
            Visit(
                "inpatient",
                "secondary",
                "county",
                "in_county",
                False,
                True,
                date(2024, 6, 1),
                date(2024, 6, 1),
            ),
            frozenset({"registered_poor"}),
        )
    )
    print(
        f"policy {policy.region_code} {policy.version}: {layers} layers; "
        f"all shipped policies loaded in {load_ms:.0f} ms"
    )
    for label, trace, repeat in (("trace off", False, 250), ("trace on ", True, 40)):
        rates = [_rate(policy, trace=trace, repeat=repeat) for _ in range(ROUNDS)]
        print(
            f"{label}: best {max(rates):>9,.0f}/s  median {statistics.median(rates):>9,.0f}/s "
            f"per core ({ROUNDS} rounds of {repeat * 200:,} settlements)"
        )


if __name__ == "__main__":
    main()
