"""A year-end run as text for the operator's terminal (masked person IDs, yuan)."""

from __future__ import annotations

from service.yearend.schemas import YearEndRunPublic


def text_report(run: YearEndRunPublic) -> str:
    what = "dry run (nothing stored)" if run.dry_run else f"run {run.run_id}"
    out = [
        f"year-end {run.region_code} plan year {run.plan_year}: {what}",
        f"people with settlements: {run.persons_considered}; "
        f"rows booked: {run.rows_booked}; booked now: {run.booked_now}",
        "",
        f"{'person':<20} {'pool':<6} {'entry':<24} {'year total':>12} {'before':>12} {'now':>12}",
    ]
    for person in run.persons:
        for e in person.entries:
            out.append(
                f"{person.person_masked:<20} {person.pool:<6} {e.code:<24} "
                f"{e.year_total:>12} {e.booked_before:>12} {e.booked_now:>12}"
            )
    out += ["", f"{'fund':<24} {'year total':>12} {'before':>12} {'now':>12}"]
    for fund in run.funds:
        out.append(
            f"{fund.fund_type:<24} {fund.year_total:>12} {fund.booked_before:>12} "
            f"{fund.booked_now:>12}"
        )
    return "\n".join(out)
