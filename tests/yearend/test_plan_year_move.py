"""The year-end of a plan year that a later version shortened: a region on October-to-September
years that moves back to the calendar year from a 1 January (ADR 0018, ADR 0021)."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import FastAPI

from service.yearend import years
from tests import factories
from tests.factories import at, bill, clock_at, county_text, load_policy, settle, settlement_request

OCTOBER = (
    county_text("2024-01-01").replace('"990102"', '"990103"').replace("演示县", "邻县")
    + 'plan_year:\n  starts: "10-01"\n'
)
JANUARY = OCTOBER.replace("2024-01-01", "2025-01-01").replace('"10-01"', '"01-01"')


async def test_a_year_shortened_by_a_move_back_ends_the_day_before_the_move(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """邻县 runs October to September from the province's first day, and the calendar year again
    from 2025-01-01: plan year 2024 is 2024-10-01 to 2024-12-31 (no settlement is of 2024 from
    1 January), so its year-end is due from 2025-01-01 under the October version, not nine months
    later under the January one (the October rules' end, 2025-09-30)."""
    october = await load_policy(client, admin_headers, OCTOBER)
    async with app.state.sessionmaker() as session:
        policy, last = await years.at_year_end(
            session, app.state.policies, region="990103", plan_year=2024
        )
        assert (policy.version, last) == (october["version"], date(2025, 9, 30))
    january = await load_policy(client, admin_headers, JANUARY)
    app.state.policies.invalidate()
    async with app.state.sessionmaker() as session:
        policy, last = await years.at_year_end(
            session, app.state.policies, region="990103", plan_year=2024
        )
        assert (policy.version, last) == (october["version"], date(2024, 12, 31))
        policy, last = await years.at_year_end(
            session, app.state.policies, region="990103", plan_year=2025
        )
        assert (policy.version, last) == (january["version"], date(2025, 12, 31))


async def test_the_shortened_year_runs_once_it_is_over(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """In March 2025 邻县's plan year 2024 (October to December) is over: a dry run of it is
    taken (it was refused until 30 September: "runs until 2025-09-30"); plan year 2025 is not
    over."""
    await load_policy(client, admin_headers, OCTOBER)
    await load_policy(client, admin_headers, JANUARY)
    resident = factories.resident_id(region="990103", seq=42)
    with clock_at("2025-03-01T10:00:00+08:00"):
        async with app.state.sessionmaker() as s:
            visit = await factories.make_admission(
                s, resident=resident, insured_county="990103", admitted_at=at(2024, 11, 2)
            )
        payload = settlement_request(
            visit.visit_id, discharged_at="2024-11-12T10:00:00+08:00", bill=bill("6000.00")
        )
        settled = await settle(client, hospital_headers, payload)
        assert settled["year"] == 2024
        runs = [
            await client.post(
                "/v1/year-end/runs",
                json={"region_code": "990103", "plan_year": year, "dry_run": True},
                headers=admin_headers,
            )
            for year in (2024, 2025)
        ]
    assert runs[0].status_code == 200, runs[0].text
    assert runs[0].json()["persons_considered"] == 1  # no year_end entry: nothing owed
    assert (runs[1].status_code, runs[1].json()["code"]) == (422, "plan_year_not_over")
