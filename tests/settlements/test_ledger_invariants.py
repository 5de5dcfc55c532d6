"""Random walks of settle / retry / conflicting retry / reverse / re-settle over a few visits of
one person: after every step the accumulators equal the sum of the stored deltas, each visit has
at most one active settlement, and no cap is exceeded."""

from __future__ import annotations

import random
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

STEPS = 30


async def _check(app: FastAPI, person_key: str) -> None:
    async with app.state.sessionmaker() as s:
        totals = await SqlSettlementStore(s).totals(Scope(person_key, factories.COUNTY, 2024))
        rows = (await s.exec(select(Settlement))).all()
        reversals = (await s.exec(select(SettlementReversal))).all()
    expected: Counter[str] = Counter()
    for item in [*rows, *reversals]:
        expected.update(item.deltas)
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in expected.items() if v}
    reversed_ids = {r.settlement_id for r in reversals}
    active = Counter(row.visit_id for row in rows if row.id not in reversed_ids)
    assert all(n == 1 for n in active.values())
    assert totals.get("basic_insurance.paid", 0) <= 150_000_00
    assert totals.get("medical_aid.paid", 0) <= 50_000_00


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_walks_keep_the_ledger_invariants(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], seed: int
) -> None:
    rng = random.Random(seed)
    resident = factories.resident_id(region=factories.COUNTY, seq=40 + seed)
    async with app.state.sessionmaker() as s:
        visits = [
            (await factories.make_admission(s, resident=resident, visit_id=f"W{i}")).visit_id
            for i in range(3)
        ]
    person_key = factories.make_person_key(resident)
    sent: dict[str, dict[str, object]] = {}  # his id -> body
    active: dict[str, int] = {}  # visit -> settlement id
    for step in range(STEPS):
        visit = rng.choice(visits)
        action = rng.choice(["settle", "settle", "retry", "conflict", "reverse"])
        if action == "settle" or not sent:
            payload = settlement_request(
                visit,
                his=f"S{step}",
                bill=bill(f"{rng.randint(1, 90_000)}.{rng.randint(0, 99):02d}"),
            )
            r = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
            if visit in active:
                assert r.status_code == 409
                assert r.json()["code"] == "visit_already_settled"
            else:
                assert r.status_code == 201, r.text
                sent[str(payload["his_settlement_id"])] = payload
                active[visit] = r.json()["id"]
        elif action in ("retry", "conflict"):
            his = rng.choice(sorted(sent))
            payload = dict(sent[his])
            if action == "conflict":
                payload["bill"] = bill("1.00")
            r = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
            assert r.status_code == (201 if action == "retry" else 409), r.text
        elif visit in active:
            url = f"/v1/settlements/{active.pop(visit)}/reversal"
            r = await client.post(url, json={"reason": "walk"}, headers=hospital_headers)
            assert r.status_code == 201, r.text
        await _check(app, person_key)
