"""Stays across the end of a plan year (跨年度住院): settled in the discharge year, or split at
the year end by the bill's amounts by date or by a share of the bed days (ADR 0018)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from service.settlements.accumulators import Scope
from service.settlements.store import SqlSettlementStore
from tests import factories
from tests.factories import at, bill, settle, settlement_request

SPLITTING = """
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 跨年度住院分段结算
version: "split-2024"
effective_from: 2024-06-01
effective_to: null
sources: ["test"]
plan_year: {cross_year: split}
layers:
  - code: basic_insurance
    deductible_by_level: {primary: "0.00"}
"""


def layer(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in result["layers"] if item["code"] == code)


async def _totals(app: FastAPI, person_key: str, year: int) -> dict[str, int]:
    async with app.state.sessionmaker() as s:
        values = await SqlSettlementStore(s).totals(Scope(person_key, factories.COUNTY, year))
    return {k: v for k, v in values.items() if v}


async def _across_new_year(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], seq: int, **bill_extra: Any
) -> tuple[dict[str, Any], str]:
    resident = factories.resident_id(region=factories.COUNTY, seq=seq)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, resident=resident, visit_id=f"X{seq}", admitted_at=at(2024, 12, 20)
        )
    payload = settlement_request(
        visit.visit_id,
        discharged_at="2025-01-10T10:00:00+08:00",
        bill=bill("21000.00", **bill_extra),
    )
    return await settle(client, headers, payload), visit.person_key


async def _reversed_gives_both_years_back(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], settlement: int, person: str
) -> None:
    reversed_ = await client.post(
        f"/v1/settlements/{settlement}/reversal", json={"reason": "测试冲销"}, headers=headers
    )
    assert reversed_.status_code == 201, reversed_.text
    assert await _totals(app, person, 2024) == {}
    assert await _totals(app, person, 2025) == {}


async def _split_policy(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    answer = await client.post(
        "/v1/policies", json={"source_text": SPLITTING}, headers=admin_headers
    )
    assert answer.status_code == 201, answer.text


async def test_by_default_the_whole_stay_is_settled_in_the_discharge_year(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    result, person = await _across_new_year(app, client, hospital_headers, seq=61)
    assert result["year"] == 2025
    assert result["year_parts"] == []
    assert layer(result, "critical_illness")["deductible_used"] == "4440.00"  # all in 2025
    assert await _totals(app, person, 2024) == {}
    assert (await _totals(app, person, 2025))["visits.settled"] == 1


async def test_split_by_bed_days_settles_each_part_in_its_own_year_and_reverses_both(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    await _split_policy(client, admin_headers)
    result, person = await _across_new_year(app, client, hospital_headers, seq=62)
    # 20 Dec to 10 Jan: 12 bed days in 2024 (20..31 Dec), 9 in 2025 (1..9 Jan; not the 10th)
    parts = [(p["year"], p["days"], p["total"]) for p in result["year_parts"]]
    assert parts == [(2024, 12, "12000.00"), (2025, 9, "9000.00")]
    assert result["year"] == 2025
    assert result["totals"]["total"] == "21000.00"
    funds = sum(float(p["funds"]) for p in result["year_parts"])
    assert f"{funds:.2f}" == result["fund_pay_sumamt"]
    in_2024, in_2025 = await _totals(app, person, 2024), await _totals(app, person, 2025)
    # each year's basic insurance paid what its part was given; the visit counts in 2025 only
    assert in_2024["basic_insurance.paid"] + in_2025["basic_insurance.paid"] == int(
        round(float(layer(result, "basic_insurance")["amount"]) * 100)
    )
    assert in_2024["basic_insurance.paid"] > 0
    assert "visits.settled" not in in_2024
    assert in_2025["visits.settled"] == 1

    await _reversed_gives_both_years_back(app, client, hospital_headers, result["id"], person)


NEXT_YEARS = """
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 跨年度住院分段结算 (2025)
version: "split-2025"
effective_from: 2025-01-01
effective_to: null
sources: ["test"]
plan_year: {cross_year: split}
layers:
  - code: basic_insurance
    deductible_by_level: {primary: "0.00", secondary: "500.00"}
"""


async def test_each_part_of_a_split_stay_is_settled_under_its_own_years_policy(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """跨年度住院分段结算: the part of 2024 under the version in force on 31 December 2024 (a
    secondary hospital's deductible 300.00), the part of 2025 under 2025's (500.00). Settled
    wholly under 2025's version, the 2024 part took 2025's deductible too (1000.00 in all)."""
    await _split_policy(client, admin_headers)
    answer = await client.post(
        "/v1/policies", json={"source_text": NEXT_YEARS}, headers=admin_headers
    )
    assert answer.status_code == 201, answer.text
    result, person = await _across_new_year(app, client, hospital_headers, seq=67)
    parts = [(p["year"], p["total"], p["policy_version"]) for p in result["year_parts"]]
    assert parts == [(2024, "12000.00", "split-2024"), (2025, "9000.00", "split-2025")]
    assert result["policy"]["version"] == "split-2025"
    basic = layer(result, "basic_insurance")
    assert basic["deductible_used"] == "800.00"  # 300.00 in 2024, 500.00 in 2025
    # (12000 - 300) x 0.80 + (9000 - 500) x 0.80
    assert basic["amount"] == "16160.00"
    assert (await _totals(app, person, 2024))["basic_insurance.paid"] == 936000
    assert (await _totals(app, person, 2025))["basic_insurance.paid"] == 680000
    await _reversed_gives_both_years_back(app, client, hospital_headers, result["id"], person)


WITH_A_NEW_LAYER = (
    NEXT_YEARS.replace('version: "split-2025"', 'version: "split-2025-aid"')
    + """
  - code: county_aid
    kind: ratio
    fund_type: supplementary
    name: 县级补充救助 (2025 起)
    applies_to: {visit_types: [inpatient]}
    base: in_policy_remaining
    ratio: "0.10"
"""
)


async def test_a_layer_new_in_the_discharge_year_pays_on_that_years_part_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """The parts' versions need not have the same layers: the slip shows every layer of either
    year, each paying what it paid in its years, and the layers and the patient's share still
    add up to the bill."""
    await _split_policy(client, admin_headers)
    answer = await client.post(
        "/v1/policies", json={"source_text": WITH_A_NEW_LAYER}, headers=admin_headers
    )
    assert answer.status_code == 201, answer.text
    result, _ = await _across_new_year(app, client, hospital_headers, seq=68)
    codes = [item["code"] for item in result["layers"]]
    assert codes.count("county_aid") == 1
    assert codes.index("county_aid") == len(codes) - 1  # where 2025's version puts it
    aid = layer(result, "county_aid")
    assert aid["applied"] is True
    fen = [int(round(float(item["amount"]) * 100)) for item in result["layers"]]
    patient = int(round(float(result["totals"]["patient_pays"]) * 100))
    assert sum(fen) + patient == 2100000
    assert int(round(float(aid["amount"]) * 100)) > 0
    # 2025's part is 9000.00 of the 21000.00: county aid paid a tenth of what was left of it
    assert float(aid["amount"]) < 900.00


async def test_an_earlier_part_with_no_version_in_force_is_refused_with_the_day(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """The demo county's versions begin on 1 January 2024: a stay from December 2023 split
    under a version of 2024 has no version for its 2023 part. It is refused (no other year's
    numbers stand in for it) and nothing is settled."""
    since_2024 = SPLITTING.replace("effective_from: 2024-06-01", "effective_from: 2024-01-02")
    answer = await client.post(
        "/v1/policies", json={"source_text": since_2024}, headers=admin_headers
    )
    assert answer.status_code == 201, answer.text
    resident = factories.resident_id(region=factories.COUNTY, seq=69)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, resident=resident, visit_id="X69", admitted_at=at(2023, 12, 20)
        )
    payload = settlement_request(
        visit.visit_id, discharged_at="2024-01-10T10:00:00+08:00", bill=bill("21000.00")
    )
    refused = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "no_policy_in_force"
    assert "2023-12-31" in refused.json()["detail"]
    assert await _totals(app, visit.person_key, 2023) == {}
    assert await _totals(app, visit.person_key, 2024) == {}


async def test_split_by_the_bills_amounts_by_date(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    await _split_policy(client, admin_headers)
    by_date = [
        {"on": "2024-12-20", "in_policy": "3000.00", "out_of_policy": "0.00"},
        {"on": "2024-12-31", "in_policy": "2000.00", "out_of_policy": "0.00"},
        {"on": "2025-01-05", "in_policy": "16000.00", "out_of_policy": "0.00"},
    ]
    result, _ = await _across_new_year(app, client, hospital_headers, seq=63, by_date=by_date)
    assert [(p["year"], p["total"]) for p in result["year_parts"]] == [
        (2024, "5000.00"),
        (2025, "16000.00"),
    ]


async def test_amounts_by_date_must_add_up_and_fall_inside_the_stay(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s, visit_id="X64", admitted_at=at(2024, 12, 20))
    short = [{"on": "2024-12-25", "in_policy": "1000.00", "out_of_policy": "0.00"}]
    outside = [{"on": "2024-11-01", "in_policy": "21000.00", "out_of_policy": "0.00"}]
    for by_date in (short, outside):
        payload = settlement_request(
            visit.visit_id,
            discharged_at="2025-01-10T10:00:00+08:00",
            bill=bill("21000.00", by_date=by_date),
        )
        answer = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
        assert answer.status_code == 422
        assert answer.json()["code"] == "invalid_bill"


async def _two_stages(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    seq: int,
    first_end: str,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A stay from 1 Dec 2024: a stage ending at ``first_end`` (10000.00), then the final
    settlement on 10 Jan 2025 (9000.00)."""
    resident = factories.resident_id(region=factories.COUNTY, seq=seq)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, resident=resident, visit_id=f"XS{seq}", admitted_at=at(2024, 12, 1)
        )
    stage = await settle(
        client,
        headers,
        settlement_request(
            visit.visit_id,
            his="XS-1",
            discharged_at=first_end,
            bill=bill("10000.00"),
            mid_settlement=True,
        ),
    )
    final = await settle(
        client,
        headers,
        settlement_request(
            visit.visit_id,
            his="XS-2",
            discharged_at="2025-01-10T10:00:00+08:00",
            bill=bill("9000.00"),
        ),
    )
    return stage, final, visit.person_key


async def test_a_stage_settled_on_the_plan_years_last_day_leaves_the_next_wholly_in_the_new_year(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """Settling a stage at the plan-year end is how a long stay starts the new year's
    deductibles and caps (docs/policy.md). The final stage's bed days ran from the stage's end,
    31 December: one day of January's bill (1000.00) was settled in 2024, on a second
    per-admission deductible."""
    await _split_policy(client, admin_headers)
    stage, final, person = await _two_stages(
        app, client, hospital_headers, seq=65, first_end="2024-12-31T23:59:59+08:00"
    )
    assert stage["year"] == 2024
    in_2024 = await _totals(app, person, 2024)
    assert final["year"] == 2025
    assert final["year_parts"] == []
    # (9000 - 300) x 0.80, the new year's deductible taken once
    assert layer(final, "basic_insurance")["amount"] == "6960.00"
    assert layer(final, "basic_insurance")["deductible_used"] == "300.00"
    assert await _totals(app, person, 2024) == in_2024


async def test_a_stage_after_a_stage_split_at_the_year_end_does_not_add_up_its_earlier_part(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """A stage ending at midnight on 1 January is split: its whole bill in 2024 (31 bed days),
    nothing in 2025, and the row is of 2025. The final stage of 2025 added that stage's whole
    bill to the stay so far and took off what it paid from 2024's funds: the 2025 deductible
    was never taken and medical aid's 2025 cap was charged with 2024's payment."""
    await _split_policy(client, admin_headers)
    stage, final, person = await _two_stages(
        app, client, hospital_headers, seq=66, first_end="2025-01-01T00:00:00+08:00"
    )
    assert [(p["year"], p["total"]) for p in stage["year_parts"]] == [
        (2024, "10000.00"),
        (2025, "0.00"),
    ]
    assert final["year_parts"] == []
    basic = layer(final, "basic_insurance")
    assert (basic["amount"], basic["deductible_used"]) == ("6960.00", "300.00")
    # what basic left, 2040.00, at the registered poor's 0.70 (2024's payment not taken off)
    assert layer(final, "medical_aid")["amount"] == "1428.00"
    in_2025 = await _totals(app, person, 2025)
    assert in_2025["basic_insurance.paid"] == 696000


async def test_the_stage_after_a_split_stage_continues_its_new_year_part(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """A per-admission deductible is taken once per admission in each plan year it is settled
    in (docs/policy.md, staged settlement). A stage from 1 December to 5 January is split: 2025
    holds 4 of its 35 bed days (1142.86), on 2025's deductible (300.00). The final stage is the
    2025 stay so far: (1142.86 + 9000.00 - 300.00) x 0.80 = 7874.29, less the 674.29 paid:
    7200.00 on no second deductible. It started afresh and took 2025's deductible again."""
    await _split_policy(client, admin_headers)
    stage, final, person = await _two_stages(
        app, client, hospital_headers, seq=67, first_end="2025-01-05T10:00:00+08:00"
    )
    assert [(p["year"], p["total"]) for p in stage["year_parts"]] == [
        (2024, "8857.14"),
        (2025, "1142.86"),
    ]
    assert layer(stage, "basic_insurance")["deductible_used"] == "600.00"  # one in each year
    basic = layer(final, "basic_insurance")
    assert (basic["amount"], basic["deductible_used"]) == ("7200.00", "0.00")
    assert (await _totals(app, person, 2025))["basic_insurance.paid"] == 787429


async def test_a_split_stage_continues_the_stages_of_its_first_year(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """A stage of December (10000.00: (10000 - 300) x 0.80 = 7760.00), then the final from 20
    December to 10 January, split 12 / 9 bed days: 5142.86 in 2024, 3857.14 in 2025. Its 2024
    part is the 2024 stay so far, (15142.86 - 300) x 0.80 = 11874.29 less 7760.00: 4114.29 on no
    second deductible; its 2025 part (3857.14 - 300) x 0.80 = 2845.71 on 2025's. It started
    its 2024 part afresh and took 2024's deductible twice."""
    await _split_policy(client, admin_headers)
    stage, final, person = await _two_stages(
        app, client, hospital_headers, seq=68, first_end="2024-12-20T10:00:00+08:00"
    )
    assert stage["year_parts"] == []
    assert layer(stage, "basic_insurance")["amount"] == "7760.00"
    assert [(p["year"], p["total"]) for p in final["year_parts"]] == [
        (2024, "5142.86"),
        (2025, "3857.14"),
    ]
    basic = layer(final, "basic_insurance")
    assert (basic["amount"], basic["deductible_used"]) == ("6960.00", "300.00")
    assert (await _totals(app, person, 2024))["basic_insurance.paid"] == 1187429
    assert (await _totals(app, person, 2025))["basic_insurance.paid"] == 284571
