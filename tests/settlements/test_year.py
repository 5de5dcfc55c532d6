"""A year of admissions for one person: the critical-illness threshold is taken once, the
safety net's yearly personal cap and the basic insurance cap carry over."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests import factories
from tests.factories import at, bill, settle, settlement_request


def layer(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in result["layers"] if item["code"] == code)


async def test_thresholds_and_caps_carry_over_between_admissions(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    resident = factories.resident_id(region=factories.COUNTY, seq=5)
    results = []
    for month in (3, 5, 8, 11):
        async with app.state.sessionmaker() as s:
            visit = await factories.make_admission(
                s, resident=resident, visit_id=f"Y{month}", admitted_at=at(2024, month, 1)
            )
        payload = settlement_request(
            visit.visit_id,
            discharged_at=f"2024-{month:02d}-10T10:00:00+08:00",
            bill=bill("60000.00"),
        )
        results.append(await settle(client, hospital_headers, payload))
    first, second, third, fourth = results

    assert layer(first, "basic_insurance")["amount"] == "47760.00"
    assert layer(first, "critical_illness")["deductible_used"] == "5000.00"
    assert layer(first, "critical_illness")["amount"] == "4706.00"
    assert first["totals"]["patient_pays"] == "2260.20"

    assert layer(second, "critical_illness")["deductible_used"] == "0.00"
    assert layer(second, "critical_illness")["amount"] == "7956.00"
    assert layer(second, "safety_net")["amount"] == "545.40"
    assert second["totals"]["patient_pays"] == "739.80"  # 3000.00 for the year, reached

    assert layer(third, "basic_insurance")["cap_left"] == "6720.00"
    assert layer(third, "safety_net")["amount"] == "1285.20"
    assert third["totals"]["patient_pays"] == "0.00"

    assert layer(fourth, "basic_insurance")["amount"] == "6720.00"  # what the cap had left
    assert layer(fourth, "basic_insurance")["cap_left"] == "0.00"
    assert fourth["totals"]["patient_pays"] == "0.00"


async def test_years_do_not_share_accumulators(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    resident = factories.resident_id(region=factories.COUNTY, seq=6)
    outcomes = []
    for year in (2024, 2025):
        async with app.state.sessionmaker() as s:
            visit = await factories.make_admission(
                s, resident=resident, visit_id=f"Y{year}", admitted_at=at(year, 12, 20)
            )
        payload = settlement_request(
            visit.visit_id, discharged_at=f"{year}-12-28T10:00:00+08:00", bill=bill("60000.00")
        )
        outcomes.append(await settle(client, hospital_headers, payload))
    assert [layer(o, "critical_illness")["deductible_used"] for o in outcomes] == [
        "5000.00",
        "5000.00",
    ]
    assert [o["year"] for o in outcomes] == [2024, 2025]
