"""GET /v1/persons/{id}/status: a quick check, masked number only, nothing booked."""

from __future__ import annotations

from typing import Any

import httpx
import respx
from fastapi import FastAPI

from service.violations.models import Violation
from tests import factories
from tests.factories import person_route, roster_person, seed_snapshot

ID = factories.resident_id(seq=501)


async def test_a_hospital_sees_eligibility_at_its_own_hospital_masked(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person_route(registry, ID).respond(
        200, json=factories.registry_person(family_doctor_until=None)
    )
    response = await client.get(
        f"/v1/persons/{ID}/status", params={"on": "2026-03-10"}, headers=hospital_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert ID not in response.text
    assert body["person_masked"] == ID[:6] + "********" + ID[-4:]
    assert body["pay_after_treatment"]["eligible"] is True
    assert body["covered"] is True
    assert "NO_FAMILY_DOCTOR" in [w["code"] for w in body["warnings"]]
    assert factories.COUNTY_HOSPITAL in body["assumed_visit"]
    async with app.state.sessionmaker() as s:
        assert (await s.get(Violation, 1)) is None


async def test_auditors_see_people_of_their_region_only(
    client: httpx.AsyncClient,
    make_key: Any,
    auditor_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person_route(registry, ID).respond(200, json=factories.registry_person())
    mine = await client.get(f"/v1/persons/{ID}/status", headers=auditor_headers)
    assert mine.status_code == 200
    assert mine.json()["covered"] is True
    other = await make_key("auditor", region_prefix="50")
    hidden = await client.get(f"/v1/persons/{ID}/status", headers=other)
    assert hidden.status_code == 404


async def test_an_auditor_cannot_tell_a_person_of_another_region_from_no_person(
    client: httpx.AsyncClient,
    make_key: Any,
    registry: respx.MockRouter,
) -> None:
    """An auditor of region 50 asks about a person registered in 99 and about one the registry
    does not know: one answer for both, so the check does not tell it that someone outside
    its region is registered (a poverty status is the person's data)."""
    person_route(registry, ID).respond(200, json=factories.registry_person())
    unknown = factories.resident_id(seq=502)
    person_route(registry, unknown).respond(404, json={"code": "not_registered"})
    other = await make_key("auditor", region_prefix="50")
    elsewhere = await client.get(f"/v1/persons/{ID}/status", headers=other)
    nobody = await client.get(f"/v1/persons/{unknown}/status", headers=other)
    assert elsewhere.status_code == nobody.status_code == 404
    same = ("type", "title", "status", "code", "detail")
    assert [elsewhere.json()[k] for k in same] == [nobody.json()[k] for k in same]


async def test_status_unknown_when_nothing_answers(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    person_route(registry, ID).respond(500)
    body = (await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)).json()
    assert body["registered"] is None
    assert body["pay_after_treatment"] == {"eligible": None, "reasons": ["STATUS_UNKNOWN"]}
    assert body["warnings"][0]["code"] == "STATUS_UNKNOWN"


async def test_status_from_the_snapshot(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await seed_snapshot(app, roster_person(ID, "lifted_out"))
    person_route(registry, ID).respond(503)
    body = (
        await client.get(
            f"/v1/persons/{ID}/status", params={"on": "2026-03-10"}, headers=hospital_headers
        )
    ).json()
    assert body["source"]["kind"] == "snapshot"
    assert [c["code"] for c in body["categories"]] == ["lifted_out"]
    assert body["source"]["snapshot_age_seconds"] > 0


async def test_not_registered(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    person_route(registry, ID).respond(404, json={"code": "not_registered"})
    body = (await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)).json()
    assert (body["registered"], body["covered"]) == (False, False)
    assert body["pay_after_treatment"]["reasons"] == ["NOT_REGISTERED"]


async def test_an_invalid_id_number_is_422_without_echo(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    bad = ID[:-1] + ("1" if ID[-1] == "0" else "0")
    response = await client.get(f"/v1/persons/{bad}/status", headers=hospital_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id_number"
    assert bad not in response.text


async def test_the_metrics_carry_the_route_template_not_the_number(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person_route(registry, ID).respond(200, json=factories.registry_person())
    await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
    metrics = (await client.get("/metrics", headers=admin_headers)).text
    assert "/v1/persons/{id_number}/status" in metrics
    assert ID not in metrics


async def test_a_warm_status_reads_no_table_and_a_cold_one_says_503_when_the_database_is_gone(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """Warm (the person, the policy, the hospital and the key in memory), a status request
    opens no transaction, so it answers with the database gone; a request that has to read a
    table answers 503 (ADR 0020)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from service.db import create_sessionmaker

    app.state.key_cache.ttl = 60
    person_route(registry, ID).respond(200, json=factories.registry_person())
    warm = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
    assert warm.status_code == 200, warm.text
    working = app.state.sessionmaker
    gone = create_async_engine("postgresql+psycopg://nobody@127.0.0.1:1/gone")
    app.state.sessionmaker = create_sessionmaker(gone)
    try:
        again = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
        assert again.status_code == 200, again.text
        assert again.json()["source"]["kind"] == "cache"
        assert {**again.json(), "source": None} == {**warm.json(), "source": None}
        app.state.policies.invalidate()  # the policy must now be read from its table
        cold = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
        assert cold.status_code == 503, cold.text
        assert cold.json()["code"] == "database_unavailable"
    finally:
        app.state.sessionmaker = working
        await gone.dispose()
