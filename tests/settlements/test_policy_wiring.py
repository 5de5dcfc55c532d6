"""The policy shapes of ADR 0019 through the API: bill-line categories, the designated disease,
the pooling region and the admissions earlier in the plan year reach the engine, are stored,
and the what-if replays them. One county policy makes every hand calculation short."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.factories import KeyFactory, at, bill, settle, settlement_request

KeyFor = Callable[[str], Awaitable[dict[str, str]]]


def wired(pooling: str | None = None) -> str:
    return factories.wired_policy(pooling)


def layer(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in result["layers"] if item["code"] == code)


async def load(client: httpx.AsyncClient, headers: dict[str, str], text: str) -> None:
    answer = await client.post("/v1/policies", json={"source_text": text}, headers=headers)
    assert answer.status_code == 201, answer.text


async def admit(session: AsyncSession, *, seq: int = 1, **overrides: Any) -> str:
    visit = await factories.make_admission(
        session, resident=factories.resident_id(region=factories.COUNTY, seq=seq), **overrides
    )
    return str(visit.visit_id)


LINES = [
    {"item": "drug", "amount": "2000.00", "in_policy": True, "category": "targeted_drug"},
    {"item": "bed", "amount": "8000.00", "in_policy": True},
]


async def test_line_categories_reach_the_engine_and_the_stored_settlement(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    await load(client, admin_headers, wired())
    visit = await admit(session)
    payload = settlement_request(visit, bill=bill("10000.00", lines=LINES))
    result = await settle(client, hospital_headers, payload)
    # basic: (8000 ordinary - 1000) x 0.80 = 5600; the targeted drug 2000 x 0.60 = 1200
    assert layer(result, "basic_insurance")["amount"] == "5600.00"
    assert layer(result, "targeted_drug")["amount"] == "1200.00"
    assert result["psn_part_amt"] == "3200.00"
    listed = await client.get(
        "/v1/settlements", params={"visit_id": visit}, headers=hospital_headers
    )
    assert listed.status_code == 200, listed.text
    # a bill without categories is still valid and settles as one ordinary bill
    plain = await settle(
        client,
        hospital_headers,
        settlement_request(await admit(session, seq=2), his="S2", bill=bill("10000.00")),
    )
    assert layer(plain, "basic_insurance")["amount"] == "7200.00"
    assert layer(plain, "targeted_drug")["amount"] == "0.00"


async def test_an_unknown_category_or_disease_is_a_clear_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    await load(client, admin_headers, wired())
    visit = await admit(session)
    lines = [{**LINES[0], "category": "orphan_drug"}, LINES[1]]
    answer = await client.post(
        "/v1/settlements",
        json=settlement_request(visit, bill=bill("10000.00", lines=lines)),
        headers=hospital_headers,
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "unknown_bill_category"
    assert "targeted_drug" in problem["detail"]
    assert "orphan_drug" in problem["detail"]
    answer = await client.post(
        "/v1/settlements",
        json=settlement_request(visit, bill=bill("10000.00"), disease="appendectomy_package"),
        headers=hospital_headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "unknown_disease"
    answer = await client.post(
        "/v1/settlements",
        json=settlement_request(visit, bill=bill("10000.00"), disease="Not A Code"),
        headers=hospital_headers,
    )
    assert answer.status_code == 422, answer.text


async def test_the_designated_disease_reaches_the_engine_and_is_stored(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    await load(client, admin_headers, wired())
    visit = await admit(session)
    payload = settlement_request(visit, bill=bill("10000.00"), disease="childhood_leukemia")
    result = await settle(client, hospital_headers, payload)
    assert layer(result, "basic_insurance")["amount"] == "8100.00"  # (10000 - 1000) x 0.90
    assert result["disease"] == "childhood_leukemia"
    listed = await client.get(
        "/v1/settlements", params={"visit_id": visit}, headers=hospital_headers
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()[0]["disease"] == "childhood_leukemia"


@pytest.mark.parametrize(
    ("pooling", "hospital", "county", "expected", "inside"),
    [
        # the default pooling level is the prefecture: the neighbour county (9901) is inside
        (None, factories.NEIGHBOUR_HOSPITAL, "990103", "7200.00", True),
        # a county-level pool: the neighbour county is elsewhere in the province, 0.70
        ("county", factories.NEIGHBOUR_HOSPITAL, "990103", "6300.00", False),
        # another prefecture (9902) under the default: 0.70
        (None, "H990201001", "990201", "6300.00", False),
        # a province-level pool takes it in again
        ("province", "H990201001", "990201", "7200.00", True),
    ],
)
async def test_the_pooling_region_comes_from_the_counties_and_the_policy(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    key_for: KeyFor,
    pooling: str | None,
    hospital: str,
    county: str,
    expected: str,
    inside: bool,
) -> None:
    await load(client, admin_headers, wired(pooling))
    visit = await admit(
        session, hospital_code=hospital, county_code=county, location="out_of_county"
    )
    result = await settle(
        client, await key_for(hospital), settlement_request(visit, bill=bill("10000.00"))
    )
    assert layer(result, "basic_insurance")["amount"] == expected
    assert result["in_pooling_region"] is inside


async def test_the_what_if_replays_categories_disease_and_pooling(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    key_for: KeyFor,
    make_key: KeyFactory,
) -> None:
    await load(client, admin_headers, wired())
    lines = settlement_request(await admit(session, seq=1), bill=bill("10000.00", lines=LINES))
    await settle(client, hospital_headers, lines)
    disease = settlement_request(
        await admit(session, seq=2), bill=bill("10000.00"), disease="childhood_leukemia"
    )
    await settle(client, hospital_headers, disease)
    neighbour = await admit(
        session,
        seq=3,
        hospital_code=factories.NEIGHBOUR_HOSPITAL,
        county_code="990103",
        location="out_of_county",
    )
    headers = await key_for(factories.NEIGHBOUR_HOSPITAL)
    await settle(client, headers, settlement_request(neighbour, bill=bill("10000.00")))
    answer = await client.post(
        "/v1/policies/whatif",
        json={"source_text": wired(), "over": 2024},
        headers=await make_key("admin"),
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["settlements"] == 3
    # 5600 + 1200, 8100, 7200: replayed exactly, as stored
    assert [(f["fund_type"], f["now"], f["proposed"]) for f in report["funds"]] == [
        ("basic_insurance", "22100.00", "22100.00")
    ]
    assert report["funds_difference"] == "0.00"
    # a proposal to pool by county: the neighbour county's hospital is then outside the
    # pooling region, (10000 - 1000) x 0.70 = 6300, 900 less; the stored fact is not reused
    answer = await client.post(
        "/v1/policies/whatif",
        json={"source_text": wired("county"), "over": 2024},
        headers=await make_key("admin"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["funds_difference"] == "-900.00"


async def _settled_at(
    client: httpx.AsyncClient,
    session: AsyncSession,
    headers: dict[str, str],
    *,
    visit_id: str,
    month: int,
    his: str,
    **overrides: Any,
) -> dict[str, Any]:
    await factories.make_admission(
        session,
        resident=factories.resident_id(region=factories.COUNTY, seq=51),
        visit_id=visit_id,
        admitted_at=at(2024, month, 1),
        **overrides,
    )
    payload = settlement_request(
        visit_id,
        his=his,
        discharged_at=f"2024-{month:02d}-10T10:00:00+08:00",
        bill=bill("10000.00"),
    )
    return await settle(client, headers, payload)


def _deductible(result: dict[str, Any]) -> str:
    return str(layer(result, "basic_insurance")["deductible_used"])


async def test_later_admissions_of_the_year_pay_half_the_deductible(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """The worked example (ADR 0019, "PriorAdmissions from the store"): the first admission of
    the plan year pays the full deductible, the second half; reversing the first changes no
    stored settlement, but the second settled again is then the year's first active admission
    and pays the full deductible; the first settled again is now the second."""
    await load(client, admin_headers, wired())
    first = await _settled_at(client, session, hospital_headers, visit_id="Y1", month=3, his="Y1-1")
    second = await _settled_at(
        client, session, hospital_headers, visit_id="Y2", month=5, his="Y2-1"
    )
    assert (_deductible(first), _deductible(second)) == ("1000.00", "500.00")
    assert layer(second, "basic_insurance")["amount"] == "7600.00"  # (10000 - 500) x 0.80

    async def reverse(settlement: dict[str, Any], why: str) -> None:
        answer = await client.post(
            f"/v1/settlements/{settlement['id']}/reversal",
            json={"reason": why},
            headers=hospital_headers,
        )
        assert answer.status_code in (200, 201), answer.text

    await reverse(first, "wrong bill")
    await reverse(second, "settle again now that the first is reversed")
    again = await settle(
        client,
        hospital_headers,
        settlement_request(
            "Y2", his="Y2-2", discharged_at="2024-05-10T10:00:00+08:00", bill=bill("10000.00")
        ),
    )
    assert _deductible(again) == "1000.00"  # the only active admission of the year
    first_again = await settle(
        client,
        hospital_headers,
        settlement_request(
            "Y1", his="Y1-2", discharged_at="2024-03-10T10:00:00+08:00", bill=bill("10000.00")
        ),
    )
    assert _deductible(first_again) == "500.00"  # in settlement order, the second


async def test_another_persons_admission_does_not_count(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    await load(client, admin_headers, wired())
    mine = await _settled_at(client, session, hospital_headers, visit_id="M1", month=3, his="M1")
    other = await factories.make_admission(
        session, resident=factories.resident_id(region=factories.COUNTY, seq=52)
    )
    theirs = await settle(
        client, hospital_headers, settlement_request(other.visit_id, bill=bill("10000.00"))
    )
    assert (_deductible(mine), _deductible(theirs)) == ("1000.00", "1000.00")


@pytest.mark.postgres
async def test_two_settlements_racing_are_not_both_the_first_admission(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """The accumulator lock orders them: the one that takes it second counts the first."""
    await load(client, admin_headers, wired())
    for person in range(6):
        resident = factories.resident_id(region=factories.COUNTY, seq=60 + person)
        visits = [
            (
                await factories.make_admission(
                    session, resident=resident, visit_id=f"R{person}-{n}"
                )
            ).visit_id
            for n in (1, 2)
        ]
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/settlements",
                    json=settlement_request(v, his=f"H-{v}", bill=bill("10000.00")),
                    headers=hospital_headers,
                )
                for v in visits
            )
        )
        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        assert sorted(_deductible(r.json()) for r in responses) == ["1000.00", "500.00"]


PER_HOSPITAL_AND_MONTH = """
region: "990102"
region_name: 演示县
name: 演示县 测试：每家医院年度首次住院起付线、门诊慢特病月度限额
version: "per-hospital-2024"
effective_from: 2024-02-01
sources: ["test: a deductible per hospital and plan year, a monthly chronic outpatient cap"]
categories: {registered_poor: 建档立卡贫困人口}
layers:
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 城乡居民基本医疗保险
    applies_to: {visit_types: [inpatient]}
    deductible: "1000.00"
    deductible_accumulates: per_hospital_year
    ratio: "0.80"
  - code: chronic_outpatient
    kind: ratio
    fund_type: basic_insurance
    name: 门诊慢特病
    applies_to: {visit_types: [chronic_outpatient]}
    ratio: "0.60"
    monthly_cap: "300.00"
"""


async def test_the_deductible_is_taken_once_per_hospital_and_the_cap_once_per_month(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    key_for: KeyFor,
) -> None:
    await load(client, admin_headers, PER_HOSPITAL_AND_MONTH)
    neighbour = {
        "hospital_code": factories.NEIGHBOUR_HOSPITAL,
        "county_code": "990103",
        "location": "out_of_county",
    }
    stays = [
        ("H1", 3, {}, hospital_headers),
        ("H2", 5, {}, hospital_headers),
        ("H3", 6, neighbour, await key_for(factories.NEIGHBOUR_HOSPITAL)),
    ]
    used = [
        _deductible(
            await _settled_at(
                client, session, headers, visit_id=visit, month=month, his=visit, **where
            )
        )
        for visit, month, where, headers in stays
    ]
    assert used == ["1000.00", "0.00", "1000.00"]  # again at a hospital of the year: none

    async def chronic(visit_id: str, month: int) -> str:
        result = await _settled_at(
            client,
            session,
            hospital_headers,
            visit_id=visit_id,
            month=month,
            his=visit_id,
            visit_type="chronic_outpatient",
        )
        return str(layer(result, "chronic_outpatient")["amount"])

    # 10000 x 0.60 is above the month's 300: 300 in July, nothing more in July, 300 in August
    assert [await chronic("C1", 7), await chronic("C2", 7), await chronic("C3", 8)] == [
        "300.00",
        "0.00",
        "300.00",
    ]


async def test_a_preview_counts_the_earlier_admissions_too(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    await load(client, admin_headers, wired())
    await _settled_at(client, session, hospital_headers, visit_id="V1", month=3, his="V1")
    await factories.make_admission(
        session,
        resident=factories.resident_id(region=factories.COUNTY, seq=51),
        visit_id="V2",
        admitted_at=at(2024, 5, 1),
    )
    payload = settlement_request("V2", discharged_at="2024-05-10T10:00:00+08:00")
    del payload["his_settlement_id"]
    answer = await client.post("/v1/settlements/preview", json=payload, headers=hospital_headers)
    assert answer.status_code == 200, answer.text
    assert _deductible(answer.json()) == "500.00"
