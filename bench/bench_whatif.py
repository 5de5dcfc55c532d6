"""What-if (政策测算) in bulk: a county's year of settlements re-settled under a proposal.

Plain script: ``python bench/bench_whatif.py [N]`` (default 200,000). Builds N stays in memory
(20,000 people, 1-3 layers' worth of bills, both visit types, every hospital level), then runs
``service.policy.whatif.what_if`` with the demo county's policy against itself moved by five
points, and prints the wall time and the rate. Target (issue 12): 200,000 in under a minute.
``--year-end`` adds a year-end top-up entry (the S7 rule) to the proposal and to "now", so the
report computes every person's year-end twice.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.policy import (  # noqa: E402
    Bill,
    Visit,
    load_policies,
    select_policy,
)
from service.policy.whatif import Stay, what_if  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "service" / "policy" / "data"
PEOPLE = 20_000
YEAR_END = """year_end:
  - code: year_end_top_up
    name: 年度政策范围内个人自付超10%部分补足
    fund_type: medical_aid
    applies_to: {categories: [registered_poor]}
    counts: in_policy
    self_pay_share_cap: "0.10"
"""


def _in_policy(total: int, outside: int) -> int:
    """The patient's in-catalogue share of a stay that paid half the bill from the funds."""
    return min(total - total // 2, total - outside)


def _stays(n: int, year_end: bool) -> list[Stay]:
    rng = random.Random(12)
    levels = ("primary", "secondary", "tertiary")
    tiers = {"primary": "township", "secondary": "county", "tertiary": "city"}
    out = []
    start = date(2025, 1, 1)
    for i in range(n):
        person = rng.randrange(PEOPLE)
        level = levels[rng.randrange(3)]
        on = start + timedelta(days=i * 365 // n)
        total = rng.randrange(500_00, 150_000_00)
        outside = total * rng.randrange(0, 20) // 100
        visit = Visit(
            "inpatient" if rng.random() < 0.8 else "chronic_outpatient",
            level,
            tiers[level],
            "in_county" if rng.random() < 0.85 else "out_of_county",
            True,
            True,
            on,
            on,
        )
        out.append(
            Stay(
                person_key=f"p{person}",
                person_masked=f"5101**********{person:04d}",
                pool="990102",
                year=2025,
                hospital_code=f"H{level[0]}{person % 7}",
                visit=visit,
                categories=frozenset({"registered_poor"}),
                bill=Bill(total, total - outside, outside),
                given={},
                keep_fund_types=None,
                paid_now={"basic_insurance": total // 2},
                waived_now_fen=0,
                patient_now_fen=total - total // 2,
                patient_in_policy_now_fen=_in_policy(total, outside) if year_end else None,
            )
        )
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--year-end"]
    year_end = "--year-end" in sys.argv
    n = int(args[0]) if args else 200_000
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.yaml"))}
    texts["demo_990102_county.yaml"] = texts["demo_990102_county.yaml"].replace(
        "layers:\n", 'layers:\n  - code: medical_aid\n    ratio: "0.75"\n', 1
    ) + (YEAR_END if year_end else "")
    policy = select_policy(load_policies(texts), insured_region="990102", on=date(2025, 6, 1))
    assert policy is not None
    stays = _stays(n, year_end)
    begun = time.perf_counter()
    last = [begun]

    def progress(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 5 or done == n:
            print(f"  {done:>8,} / {n:,}  {now - begun:6.1f} s", file=sys.stderr)
            last[0] = now

    now = {"990102": policy} if year_end else None
    report = what_if(stays, policy, now_year_end=now, progress=progress)
    took = time.perf_counter() - begun
    print(f"what-if: {report.settlements:,} settlements in {took:.1f} s ({n / took:,.0f}/s)")
    for line in report.funds:
        print(f"  {line.fund_type:<18} proposed {line.proposed_fen / 100:>16,.2f}")
    for entry in report.year_end:
        print(f"  year-end {entry.code}: {entry.persons_proposed:,} people")


if __name__ == "__main__":
    main()
