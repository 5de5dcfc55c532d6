"""A stay split at a plan-year end (`cross_year: split`) in the year-end run: each part counts in
its own plan year, as it moved that year's accumulators (ADR 0018; ADR 0021, amendment).

Hand calculation (the S7 rule: the year's in-catalogue self-pay above 10% of the year's
in-catalogue cost; medical aid 70% of the in-catalogue rest after basic insurance):
- a stay from 22 December 2024 to 11 January 2025, in-catalogue 20000.00, basic insurance
  10000.00: 10 bed days in each year, so each part is 10000.00 with basic 5000.00, aid 3500.00
  and self-pay 1500.00;
- the S7 stay of June 2025: 60000.00, basic 20000.00, aid 28000.00, self-pay 12000.00.
2024: 1500.00 above 1000.00: 500.00. 2025: 13500.00 above 7000.00: 6500.00. Counted whole in
2025 (as before): nothing in 2024, and 15000.00 above 8000.00 = 7000.00 in 2025.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.factories import KeyFactory, at, bill, settle

KeyFor = Callable[[], Awaitable[dict[str, str]]]

SPLITTING = """
region: "320211"
region_name: 滨湖区
inherits: "320200"
name: 滨湖区 跨年度住院分段结算
version: "s7-split"
effective_from: 2024-01-01
sources: ["test"]
plan_year: {cross_year: split}
"""


async def _split_stay(
    client: httpx.AsyncClient, session: AsyncSession, headers: dict[str, str]
) -> dict[str, Any]:
    visit = await factories.make_admission(
        session,
        hospital_code=factories.S7_HOSPITAL,
        county_code=factories.S7_COUNTY,
        insured_county=factories.S7_COUNTY,
        resident=factories.resident_id(region=factories.S7_COUNTY, seq=1),
        categories=["medical_aid_recipient"],
        admitted_at=at(2024, 12, 22),
    )
    return await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": "YE-SPLIT",
            "discharged_at": "2025-01-11T09:00:00+08:00",
            "bill": bill("20000.00"),
            "external_amounts": {"basic_insurance": "10000.00", "critical_illness": "0.00"},
        },
    )


async def _year_end(client: httpx.AsyncClient, auditor: dict[str, str], year: int) -> list[Any]:
    answer = await client.post(
        "/v1/year-end/runs",
        json={"region_code": factories.S7_PREFECTURE, "plan_year": year, "dry_run": True},
        headers=auditor,
    )
    assert answer.status_code == 200, answer.text
    return [
        (e["stays"], e["cost"], e["self_pay"], e["year_total"])
        for person in answer.json()["persons"]
        for e in person["entries"]
    ]


async def test_each_part_of_a_split_stay_is_topped_up_in_its_own_plan_year(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
) -> None:
    admin = await make_key("admin")
    loaded = await client.post("/v1/policies", json={"source_text": SPLITTING}, headers=admin)
    assert loaded.status_code == 201, loaded.text
    headers = await hospital_key()
    stay = await _split_stay(client, session, headers)
    parts = [(p["year"], p["in_policy"], p["patient_in_policy"]) for p in stay["year_parts"]]
    assert parts == [(2024, "10000.00", "1500.00"), (2025, "10000.00", "1500.00")]
    await factories.s7_stay(client, session, headers, 1)
    auditor = await make_key("auditor", region_prefix="32")

    assert await _year_end(client, auditor, 2024) == [(1, "10000.00", "1500.00", "500.00")]
    assert await _year_end(client, auditor, 2025) == [(2, "70000.00", "13500.00", "6500.00")]


async def test_a_stay_settled_whole_in_its_discharge_year_counts_there_alone(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
) -> None:
    """Without `split` the same stay moved 2025's accumulators only, and is topped up there."""
    headers = await hospital_key()
    stay = await _split_stay(client, session, headers)
    assert stay["year_parts"] == []
    await factories.s7_stay(client, session, headers, 1)
    auditor = await make_key("auditor", region_prefix="32")

    assert await _year_end(client, auditor, 2024) == []
    assert await _year_end(client, auditor, 2025) == [(2, "80000.00", "15000.00", "7000.00")]


async def test_a_long_stay_settled_in_stages_across_the_year_end_is_topped_up_part_by_part(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
) -> None:
    """Admitted 10 December 2024, settled in stages on 20 December, 10 January (split: 12 bed
    days in 2024, 9 in 2025) and 5 February. In catalogue 30000.00, 40000.00 and 20000.00,
    each with 1000.00 outside the catalogue; the patient's in-catalogue shares 4500.00, 6000.00
    (3428.57 in 2024 and 2571.43 in 2025, as the stage's parts store them) and 3000.00.
    2024: cost 30000.00 + 22857.14, self-pay 7928.57 above 5285.71: 2642.86. 2025: cost
    17142.86 + 20000.00, self-pay 5571.43 above 3714.29: 1857.14. Reversing the last two stages
    leaves the first stage alone in 2024 (4500.00 above 3000.00) and nothing in 2025."""
    admin = await make_key("admin")
    loaded = await client.post("/v1/policies", json={"source_text": SPLITTING}, headers=admin)
    assert loaded.status_code == 201, loaded.text
    headers = await hospital_key()
    visit = await factories.make_admission(
        session,
        hospital_code=factories.S7_HOSPITAL,
        county_code=factories.S7_COUNTY,
        insured_county=factories.S7_COUNTY,
        resident=factories.resident_id(region=factories.S7_COUNTY, seq=1),
        categories=["medical_aid_recipient"],
        admitted_at=at(2024, 12, 10),
    )
    stages = [
        await settle(
            client,
            headers,
            {
                "visit_id": visit.visit_id,
                "his_settlement_id": f"YE-STAGE-{n}",
                "discharged_at": f"{end}T09:00:00+08:00",
                "bill": bill(inside, "1000.00"),
                "external_amounts": {"basic_insurance": basic, "critical_illness": "0.00"},
                "mid_settlement": n < 2,
            },
        )
        for n, (end, inside, basic) in enumerate(
            [
                ("2024-12-20", "30000.00", "15000.00"),
                ("2025-01-10", "40000.00", "20000.00"),
                ("2025-02-05", "20000.00", "10000.00"),
            ]
        )
    ]
    for stage in stages:  # the slip balances: the funds and the patient's share are the bill
        totals = stage["totals"]
        paid = sum(Decimal(layer["amount"]) for layer in stage["layers"])
        assert paid + Decimal(totals["patient_pays"]) == Decimal(totals["total"])
    assert [(p["year"], p["patient_in_policy"]) for p in stages[1]["year_parts"]] == [
        (2024, "3428.57"),
        (2025, "2571.43"),
    ]
    auditor = await make_key("auditor", region_prefix="32")
    assert await _year_end(client, auditor, 2024) == [(2, "52857.14", "7928.57", "2642.86")]
    assert await _year_end(client, auditor, 2025) == [(2, "37142.86", "5571.43", "1857.14")]
    # the what-if of each year, the policy unchanged, prices the run's figure on both sides
    assert await _what_if_year_end(client, auditor, SPLITTING, 2024) == [
        ("2642.86", "2642.86", "0.00", 1, 1)
    ]
    assert await _what_if_year_end(client, auditor, SPLITTING, 2025) == [
        ("1857.14", "1857.14", "0.00", 1, 1)
    ]

    for stage in reversed(stages[1:]):
        answer = await client.post(
            f"/v1/settlements/{stage['id']}/reversal", json={"reason": "冲销"}, headers=headers
        )
        assert answer.status_code == 201, answer.text
    assert await _year_end(client, auditor, 2024) == [(1, "30000.00", "4500.00", "1500.00")]
    assert await _year_end(client, auditor, 2025) == []


async def _what_if_year_end(
    client: httpx.AsyncClient, auditor: dict[str, str], text: str, year: int
) -> list[tuple[str, str, str, int, int]]:
    answer = await client.post(
        "/v1/policies/whatif", json={"source_text": text, "over": year}, headers=auditor
    )
    assert answer.status_code == 200, answer.text
    return [
        (e["now"], e["proposed"], e["difference"], e["persons_now"], e["persons_proposed"])
        for e in answer.json()["year_end"]
    ]


async def test_the_what_if_counts_each_part_of_a_split_stay_in_its_own_year_as_the_run_does(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
) -> None:
    """The region's own policy proposed unchanged: the what-if's year-end of a year, now and
    proposed, is the run's of that year (2024: 500.00 on the December part; 2025: 6500.00 on
    the January part and the June stay), not the stay counted whole in 2025 (7000.00)."""
    admin = await make_key("admin")
    loaded = await client.post("/v1/policies", json={"source_text": SPLITTING}, headers=admin)
    assert loaded.status_code == 201, loaded.text
    headers = await hospital_key()
    await _split_stay(client, session, headers)
    await factories.s7_stay(client, session, headers, 1)
    auditor = await make_key("auditor", region_prefix="32")
    assert await _year_end(client, auditor, 2024) == [(1, "10000.00", "1500.00", "500.00")]
    assert await _year_end(client, auditor, 2025) == [(2, "70000.00", "13500.00", "6500.00")]

    assert await _what_if_year_end(client, auditor, SPLITTING, 2025) == [
        ("6500.00", "6500.00", "0.00", 1, 1)
    ]
    assert await _what_if_year_end(client, auditor, SPLITTING, 2024) == [
        ("500.00", "500.00", "0.00", 1, 1)
    ]


async def test_a_proposal_that_splits_stays_stored_whole_prices_each_part_in_its_own_year(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
) -> None:
    """The stays settled whole (the region does not split): now as the runs count them (7000.00
    in 2025, nothing in 2024); proposed, split, the parts in their own years (6500.00, 500.00)."""
    headers = await hospital_key()
    await _split_stay(client, session, headers)
    await factories.s7_stay(client, session, headers, 1)
    auditor = await make_key("auditor", region_prefix="32")

    assert await _what_if_year_end(client, auditor, SPLITTING, 2025) == [
        ("7000.00", "6500.00", "-500.00", 1, 1)
    ]
    assert await _what_if_year_end(client, auditor, SPLITTING, 2024) == [
        ("0.00", "500.00", "500.00", 0, 1)
    ]
