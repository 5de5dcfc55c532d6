"""Idempotent retry, conflicting retry, reversal, double reversal, re-settlement, reading."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.settlements.accumulators import Scope
from service.settlements.models import Settlement
from service.settlements.store import SqlSettlementStore
from tests import factories
from tests.factories import KeyFactory, bill, settle, settlement_request


async def _visit(app: FastAPI, **overrides: object) -> tuple[str, str]:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s, **overrides)
    return row.visit_id, row.person_key


async def _totals(app: FastAPI, person_key: str) -> dict[str, int]:
    async with app.state.sessionmaker() as s:
        values = await SqlSettlementStore(s).totals(Scope(person_key, factories.COUNTY, 2024))
    return {k: v for k, v in values.items() if v}


async def test_a_retry_with_the_same_body_returns_the_stored_settlement(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, person_key = await _visit(app)
    first = await client.post(
        "/v1/settlements", json=settlement_request(visit_id), headers=hospital_headers
    )
    after_first = await _totals(app, person_key)
    same = settlement_request(
        visit_id, bill={"total": 20500, "in_policy": "20000.0", "out_of_policy": "500"}
    )
    again = await client.post("/v1/settlements", json=same, headers=hospital_headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _totals(app, person_key) == after_first


async def test_a_different_body_under_the_same_keys_is_a_conflict(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, _ = await _visit(app)
    await settle(client, hospital_headers, settlement_request(visit_id))
    changed = settlement_request(visit_id, bill=bill("20000.00", "600.00"))
    response = await client.post("/v1/settlements", json=changed, headers=hospital_headers)
    assert response.status_code == 409
    assert response.json()["code"] == "settlement_conflict"


async def test_a_second_active_settlement_of_a_visit_is_refused(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, _ = await _visit(app)
    await settle(client, hospital_headers, settlement_request(visit_id, his="S1"))
    response = await client.post(
        "/v1/settlements", json=settlement_request(visit_id, his="S2"), headers=hospital_headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "visit_already_settled"


async def test_reversal_restores_every_accumulator_and_happens_once(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, person_key = await _visit(app)
    earlier_id, _ = await _visit(app, resident=factories.resident_id(region=factories.COUNTY))
    await settle(client, hospital_headers, settlement_request(earlier_id, bill=bill("8000.00")))
    before = await _totals(app, person_key)
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    assert await _totals(app, person_key) != before
    url = f"/v1/settlements/{settled['id']}/reversal"
    reversed_ = await client.post(url, json={"reason": "HIS 冲销"}, headers=hospital_headers)
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["status"] == "reversed"
    assert reversed_.json()["reversal"]["reason"] == "HIS 冲销"
    assert await _totals(app, person_key) == before
    twice = await client.post(url, json={"reason": "again"}, headers=hospital_headers)
    assert twice.status_code == 409
    assert twice.json()["code"] == "settlement_already_reversed"
    assert await _totals(app, person_key) == before
    shown = await client.get(f"/v1/settlements/{settled['id']}", headers=hospital_headers)
    assert shown.json()["status"] == "reversed"


async def test_a_visit_can_be_settled_again_after_a_reversal(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, person_key = await _visit(app)
    first = await settle(client, hospital_headers, settlement_request(visit_id, his="S1"))
    await client.post(
        f"/v1/settlements/{first['id']}/reversal",
        json={"reason": "wrong bill", "his_reversal_id": "R1"},
        headers=hospital_headers,
    )
    second = await settle(client, hospital_headers, settlement_request(visit_id, his="S2"))
    assert second["layers"] == first["layers"]  # the year is as if the first never happened
    listed = await client.get(
        "/v1/settlements", params={"visit_id": visit_id}, headers=hospital_headers
    )
    assert [(s["his_settlement_id"], s["status"]) for s in listed.json()] == [
        ("S1", "reversed"),
        ("S2", "settled"),
    ]
    assert (await _totals(app, person_key))["visits.settled"] == 1


async def test_a_reversal_retried_with_its_his_id_is_replayed(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, _ = await _visit(app)
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    url = f"/v1/settlements/{settled['id']}/reversal"
    payload = {"reason": "wrong bill", "his_reversal_id": "R9"}
    first = await client.post(url, json=payload, headers=hospital_headers)
    again = await client.post(url, json=payload, headers=hospital_headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"  # ADR 0030, as for every POST


async def test_a_reversal_retried_without_a_his_id_is_replayed_not_refused(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """A settlement has one reversal, so the path and the body name it: a HIS that retries
    after a timeout, without an id of its own, gets the reversal it made, not a 409."""
    visit_id, person_key = await _visit(app)
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    url = f"/v1/settlements/{settled['id']}/reversal"
    first = await client.post(url, json={"reason": "收费错误"}, headers=hospital_headers)
    after_first = await _totals(app, person_key)
    again = await client.post(url, json={"reason": "收费错误"}, headers=hospital_headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _totals(app, person_key) == after_first  # nothing given back twice
    # Another request is not a replay: another reason, or an id the first did not have.
    for other in ({"reason": "另一原因"}, {"reason": "收费错误", "his_reversal_id": "R1"}):
        refused = await client.post(url, json=other, headers=hospital_headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "settlement_already_reversed"


async def test_another_hospitals_visit_and_settlement_are_not_found(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
) -> None:
    visit_id, _ = await _visit(app)
    response = await client.post(
        "/v1/settlements", json=settlement_request(visit_id), headers=other_hospital_headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "visit_not_found"
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    for url in (f"/v1/settlements/{settled['id']}", f"/v1/settlements/{settled['id']}/slip"):
        assert (await client.get(url, headers=other_hospital_headers)).status_code == 404
    reversal = await client.post(
        f"/v1/settlements/{settled['id']}/reversal",
        json={"reason": "x"},
        headers=other_hospital_headers,
    )
    assert reversal.status_code == 404
    for params in ({"visit_id": visit_id}, {"visit_id": visit_id, "hospital_code": "H990102002"}):
        listed = await client.get("/v1/settlements", params=params, headers=other_hospital_headers)
        assert listed.json() == []


async def test_an_auditor_reads_settlements_in_its_region_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    visit_id, _ = await _visit(app)
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    url = f"/v1/settlements/{settled['id']}"
    assert (await client.get(url, headers=auditor_headers)).json()["id"] == settled["id"]
    elsewhere = await make_key("auditor", region_prefix="42")
    assert (await client.get(url, headers=elsewhere)).status_code == 404
    listed = await client.get("/v1/settlements", params={"visit_id": visit_id}, headers=elsewhere)
    assert listed.json() == []
    refused = await client.post(f"{url}/reversal", json={"reason": "x"}, headers=auditor_headers)
    assert refused.status_code == 403


async def test_a_settled_visit_is_not_previewed_again_until_reversed(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, _ = await _visit(app)
    payload = settlement_request(visit_id)
    payload.pop("his_settlement_id")
    before = await client.post("/v1/settlements/preview", json=payload, headers=hospital_headers)
    assert before.status_code == 200, before.text
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    after = await client.post("/v1/settlements/preview", json=payload, headers=hospital_headers)
    assert after.status_code == 409, after.text
    problem = after.json()
    assert (problem["code"], problem["errors"][0]["field"]) == ("visit_already_settled", "visit_id")
    reversed_ = await client.post(
        f"/v1/settlements/{settled['id']}/reversal",
        json={"reason": "HIS 冲销"},
        headers=hospital_headers,
    )
    assert reversed_.status_code == 201, reversed_.text
    again = await client.post("/v1/settlements/preview", json=payload, headers=hospital_headers)
    assert again.status_code == 200, again.text
    assert again.json()["totals"] == before.json()["totals"]


async def test_preview_stores_nothing_and_matches_the_settlement(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id, person_key = await _visit(app)
    payload = settlement_request(visit_id)
    payload.pop("his_settlement_id")
    preview = await client.post("/v1/settlements/preview", json=payload, headers=hospital_headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["status"] == "preview"
    assert preview.json()["id"] is None
    assert await _totals(app, person_key) == {}
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(Settlement))).all() == []
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    assert settled["layers"] == preview.json()["layers"]
    assert settled["totals"] == preview.json()["totals"]
