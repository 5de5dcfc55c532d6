"""A long stay settled in stages (中途结算): three stages, their slips, and their reversals."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from service.settlements.accumulators import Scope
from service.settlements.store import SqlSettlementStore
from tests import factories
from tests.factories import at, bill, settle, settlement_request

ENDS = ("2024-03-10", "2024-03-20", "2024-03-30")


async def _totals(app: FastAPI, person_key: str) -> dict[str, int]:
    async with app.state.sessionmaker() as s:
        values = await SqlSettlementStore(s).totals(Scope(person_key, factories.COUNTY, 2024))
    return {k: v for k, v in values.items() if v}


async def _admit(app: FastAPI, seq: int) -> tuple[str, str]:
    resident = factories.resident_id(region=factories.COUNTY, seq=seq)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, resident=resident, visit_id=f"L{seq}", admitted_at=at(2024, 3, 1)
        )
    return visit.visit_id, visit.person_key


def _stage(visit_id: str, n: int, mid: bool, amount: str = "20000.00") -> dict[str, Any]:
    return settlement_request(
        visit_id,
        his=f"ST{n}",
        discharged_at=f"{ENDS[n - 1]}T10:00:00+08:00",
        bill=bill(amount, "500.00"),
        mid_settlement=mid,
    )


async def _three_stages(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], seq: int
) -> tuple[list[dict[str, Any]], str, str]:
    visit_id, person = await _admit(app, seq)
    results = [await settle(client, headers, _stage(visit_id, n, mid=n < 3)) for n in (1, 2, 3)]
    return results, visit_id, person


async def _reverse(
    client: httpx.AsyncClient, headers: dict[str, str], settlement_id: int
) -> httpx.Response:
    return await client.post(
        f"/v1/settlements/{settlement_id}/reversal", json={"reason": "冲销"}, headers=headers
    )


async def test_three_stages_continue_the_stay_and_add_up_to_settling_once(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    stages, _, person = await _three_stages(app, client, hospital_headers, seq=71)
    assert [(s["stage"], s["mid_setl_flag"]) for s in stages] == [(1, "1"), (2, "1"), (3, "0")]
    assert [s["totals"]["total"] for s in stages] == ["20500.00"] * 3
    basic = [next(x for x in s["layers"] if x["code"] == "basic_insurance") for s in stages]
    # the per-admission deductible is taken once, in the first stage
    assert [b["deductible_used"] for b in basic] == ["300.00", "0.00", "0.00"]

    once_visit, once_person = await _admit(app, seq=72)
    once = await settle(
        client,
        hospital_headers,
        settlement_request(
            once_visit,
            discharged_at="2024-03-30T10:00:00+08:00",
            bill=bill("60000.00", "1500.00"),
        ),
    )
    funds = sum(int(s["fund_pay_sumamt"].replace(".", "")) for s in stages)
    patient = sum(int(s["psn_part_amt"].replace(".", "")) for s in stages)
    assert funds == int(once["fund_pay_sumamt"].replace(".", ""))
    assert patient == int(once["psn_part_amt"].replace(".", ""))
    staged, single = await _totals(app, person), await _totals(app, once_person)
    assert staged.pop("visits.settled") == 3  # one per stage
    assert single.pop("visits.settled") == 1
    assert staged == single


async def test_stages_are_reversed_from_the_last_and_a_new_final_can_follow(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    stages, visit_id, person = await _three_stages(app, client, hospital_headers, seq=73)
    first, second, final = (s["id"] for s in stages)

    refused = await _reverse(client, hospital_headers, first)
    assert refused.status_code == 409
    assert refused.json()["code"] == "later_stage_active"
    assert (await _reverse(client, hospital_headers, final)).status_code == 201

    # the stay is open again after its final stage is reversed: settle a corrected final
    corrected = _stage(visit_id, 3, mid=False, amount="18000.00") | {"his_settlement_id": "ST3b"}
    again = await settle(client, hospital_headers, corrected)
    assert (again["stage"], again["mid_setl_flag"]) == (3, "0")
    assert (await _reverse(client, hospital_headers, second)).status_code == 409
    for settlement_id in (again["id"], second, first):
        assert (await _reverse(client, hospital_headers, settlement_id)).status_code == 201
    assert await _totals(app, person) == {}


async def test_a_final_settlement_closes_the_stages_and_a_stage_must_end_later(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, _ = await _admit(app, seq=74)
    await settle(client, hospital_headers, _stage(visit_id, 2, mid=True))
    early = _stage(visit_id, 1, mid=True) | {"his_settlement_id": "EARLY"}
    answer = await client.post("/v1/settlements", json=early, headers=hospital_headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "settlement_stage_out_of_order"
    await settle(client, hospital_headers, _stage(visit_id, 3, mid=False))
    after = _stage(visit_id, 3, mid=True) | {"his_settlement_id": "AFTER"}
    answer = await client.post("/v1/settlements", json=after, headers=hospital_headers)
    assert answer.status_code == 409
    assert answer.json()["code"] == "visit_already_settled"


async def test_a_stage_is_replayed_by_its_his_id(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, person = await _admit(app, seq=75)
    first = await settle(client, hospital_headers, _stage(visit_id, 1, mid=True))
    before = await _totals(app, person)
    replay = await client.post(
        "/v1/settlements", json=_stage(visit_id, 1, mid=True), headers=hospital_headers
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first
    assert await _totals(app, person) == before
