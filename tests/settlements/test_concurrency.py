"""Fifty settlements of one person at once: no 5xx, no deadlock, no annual cap used twice, and
the accumulators equal the sum of the stored deltas (minus reversals)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.settlements.accumulators import Scope
from service.settlements.models import Settlement, SettlementReversal
from service.settlements.store import SqlSettlementStore
from tests import factories
from tests.factories import bill, settlement_request

pytestmark = pytest.mark.slow

N = 50
BASIC_CAP_FEN = 150_000_00  # demo province: basic insurance annual cap
AID_CAP_FEN = 50_000_00  # demo province: medical aid annual limit


async def test_fifty_concurrent_settlements_never_overshoot_a_cap(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    resident = factories.resident_id(region=factories.COUNTY, seq=77)
    async with app.state.sessionmaker() as s:
        visits = [
            (await factories.make_admission(s, resident=resident, visit_id=f"C{i:03d}")).visit_id
            for i in range(N)
        ]
        person_key = (
            await factories.make_admission(s, resident=resident, visit_id="CX")
        ).person_key

    async def one(visit_id: str) -> httpx.Response:
        payload = settlement_request(visit_id, his=f"H-{visit_id}", bill=bill("20000.00", "300.00"))
        return await client.post("/v1/settlements", json=payload, headers=hospital_headers)

    responses = await asyncio.gather(*(one(v) for v in visits))
    assert Counter(r.status_code for r in responses) == {201: N}, [
        r.text for r in responses if r.status_code != 201
    ]
    hifp = sum(int(r.json()["hifp_pay"].replace(".", "")) for r in responses)
    assert hifp == BASIC_CAP_FEN  # the cap binds exactly, and is never exceeded

    async with app.state.sessionmaker() as s:
        totals = await SqlSettlementStore(s).totals(Scope(person_key, factories.COUNTY, 2024))
        rows = (await s.exec(select(Settlement))).all()
        reversals = (await s.exec(select(SettlementReversal))).all()
    expected: Counter[str] = Counter()
    for row in rows:
        expected.update(row.deltas)
    for reversal in reversals:
        expected.update(reversal.deltas)
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in expected.items() if v}
    assert totals["basic_insurance.paid"] == BASIC_CAP_FEN
    assert totals["medical_aid.paid"] <= AID_CAP_FEN
    assert totals["visits.settled"] == N
    aid = sum(int(r.json()["layers"][2]["amount"].replace(".", "")) for r in responses)
    assert aid == totals["medical_aid.paid"]


async def test_concurrent_retries_of_one_settlement_create_one_record(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    payload = settlement_request(visit.visit_id, his="RACE")
    responses = await asyncio.gather(
        *(client.post("/v1/settlements", json=payload, headers=hospital_headers) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    async with app.state.sessionmaker() as s:
        rows = (await s.exec(select(Settlement))).all()
    assert len(rows) == 1


async def test_concurrent_settlements_of_one_visit_under_different_his_ids_store_one(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
        person_key = visit.person_key
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/settlements",
                json=settlement_request(visit.visit_id, his=f"HIS-{i}"),
                headers=hospital_headers,
            )
            for i in range(10)
        )
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 9}, [r.text for r in responses]
    refused = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(refused) == {"visit_already_settled"}
    async with app.state.sessionmaker() as s:
        rows = (await s.exec(select(Settlement))).all()
        totals = await SqlSettlementStore(s).totals(Scope(person_key, factories.COUNTY, 2024))
    assert len(rows) == 1
    assert totals["visits.settled"] == 1
