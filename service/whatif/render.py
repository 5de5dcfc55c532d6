"""The what-if report as text, for `settlecheck policy whatif`."""

from __future__ import annotations

from service.whatif.schemas import WhatIfPublic


def text_report(r: WhatIfPublic) -> str:
    rows = [
        f"what-if {r.policy_version} ({r.policy_hash[:12]}) over {r.over}, region {r.region}: "
        f"{r.settlements:,} settlements re-settled in {r.seconds:.1f} s; nothing stored changed",
        "",
        f"{'fund':<20}{'now':>18}{'proposed':>18}{'difference':>18}",
    ]
    for f in r.funds:
        rows.append(f"{f.fund_type:<20}{f.now:>18}{f.proposed:>18}{f.difference:>18}")
    rows.append(
        f"{'all payers':<20}{r.funds_now:>18}{r.funds_proposed:>18}{r.funds_difference:>18}"
    )
    rows.append(f"{'patients':<20}{r.patient_now:>18}{r.patient_proposed:>18}")
    if r.year_end:
        rows += ["", "year-end top-up (included above; people paid now -> proposed):"]
        for e in r.year_end:
            rows.append(
                f"{e.fund_type + ' ' + e.code:<32}{e.now:>14}{e.proposed:>14}{e.difference:>14}"
                f"  {e.persons_now} -> {e.persons_proposed} people"
            )
    for fund, amount in r.year_end_booked.items():
        rows.append(f"  booked by year-end runs so far, {fund}: {amount}")
    if r.ratios:
        rows += ["", "actual reimbursement ratio (settlements per bucket, now -> proposed):"]
        rows.append(f"{'category':<24}" + "".join(f"{b:>13}" for b in r.ratios[0].buckets))
        for line in r.ratios:
            cells = "".join(
                f"{f'{a}->{b}':>13}" for a, b in zip(line.now, line.proposed, strict=True)
            )
            rows.append(f"{line.category:<24}{cells}")
            rows.append(
                f"{'':<24}below target: {line.below_target_now} now, "
                f"{line.below_target_proposed} proposed (of {line.settlements})"
            )
    if r.patients_rising:
        rows += ["", "patients whose share rises most:"]
        for p in r.patients_rising:
            rows.append(
                f"  {p.person_masked:<22}{p.settlements:>4} stays {p.patient_now:>14} -> "
                f"{p.patient_proposed:>14} (+{p.rise})"
            )
    return "\n".join(rows)
