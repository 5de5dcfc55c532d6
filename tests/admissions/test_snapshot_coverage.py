"""A roster snapshot can confirm that someone is covered; its silence proves nothing (ADR 0011).

The outage meets the snapshot as it does in production: the registry answers first, the cached
answer expires (TTL 1 s here), the registry goes down and the breaker (one failure here) opens.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

from service.settings import Settings
from tests import factories
from tests.factories import KeyFactory, make_settings, person_route, roster_person, seed_snapshot

SNAPSHOT_TAKEN = datetime(2026, 3, 1, tzinfo=UTC)
CITY_HOSPITAL_COUNTY = "990101"  # H990101001; the snapshot holds 990102 and 990103 only


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        registry_total_deadline_seconds=0.3,
        registry_breaker_failures=1,
        cache_ttl_seconds=1,
    )


async def _snapshot_of_two_counties(app: FastAPI) -> None:
    await seed_snapshot(
        app,
        roster_person(factories.resident_id(seq=901), "minimum_living"),
        roster_person(factories.resident_id(seq=902), "destitute", insured_county="990103"),
        taken_at=SNAPSHOT_TAKEN,
    )


async def _admit(client: httpx.AsyncClient, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/admissions", json=factories.admission_request(**kw), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _status(
    client: httpx.AsyncClient, headers: dict[str, str], id_number: str
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/persons/{id_number}/status", params={"on": "2026-03-10"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _outage_after_an_answer(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    registry: respx.MockRouter,
    *,
    id_number: str,
    insured_county: str,
) -> list[dict[str, Any]]:
    """An admission the registry answered (covered), then two during the outage."""
    route = person_route(registry, id_number)
    route.side_effect = [
        httpx.Response(
            200, json=factories.registry_person("minimum_living", insured_county=insured_county)
        ),
        httpx.Response(503),
    ]
    visit = {"id_number": id_number, "insured_county": insured_county, "deposit_intended": "800"}
    answered = await _admit(client, headers, visit_id="V-1", **visit)
    assert (answered["source"]["kind"], answered["covered"]) == ("registry", True)
    await asyncio.sleep(1.2)  # the cached answer expires
    during = [await _admit(client, headers, visit_id=f"V-{i}", **visit) for i in (2, 3)]
    assert route.call_count == 2  # the third admission met the open breaker
    assert during[1]["source"]["registry_problem"] == "registry_circuit_open"
    return during


def _assert_unknown_from_snapshot(body: dict[str, Any], reason: str) -> None:
    assert body["source"]["kind"] == "unknown"
    assert body["registered"] is None
    assert body["covered"] is None
    assert body["pay_after_treatment"]["eligible"] is None
    assert body["pay_after_treatment"]["reasons"] == ["STATUS_UNKNOWN", reason]
    assert body["source"]["snapshot_taken_at"].startswith("2026-03-01")
    assert "2026-03-01" in body["source"]["unknown_reason"]
    codes = [w["code"] for w in body["warnings"]]
    assert "STATUS_UNKNOWN" in codes
    assert (
        "2026-03-01"
        in next(w for w in body["warnings"] if w["code"] == "STATUS_UNKNOWN")["message"]
    )


async def test_a_county_the_snapshot_does_not_cover_is_unknown_not_uncovered(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    registry: respx.MockRouter,
) -> None:
    await _snapshot_of_two_counties(app)
    headers = await make_key("hospital", hospital_code=factories.CITY_HOSPITAL)
    id_number = factories.resident_id(seq=911)
    during = await _outage_after_an_answer(
        client, headers, registry, id_number=id_number, insured_county=CITY_HOSPITAL_COUNTY
    )
    for body in during:
        _assert_unknown_from_snapshot(body, "SNAPSHOT_COUNTY_NOT_COVERED")
        assert "990101" in body["source"]["unknown_reason"]
        assert "990102, 990103" in body["source"]["unknown_reason"]
        assert body["deposit_allowed"] == "0.00"  # the policy: no deposit until confirmed
        assert body["deposit_basis"] == "status_unknown"
        assert "confirmed" in body["deposit_explanation"]
        assert body["violations"] == []


async def test_a_person_enrolled_after_the_snapshot_is_unknown_not_uncovered(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await _snapshot_of_two_counties(app)
    id_number = factories.resident_id(seq=912)
    during = await _outage_after_an_answer(
        client, hospital_headers, registry, id_number=id_number, insured_county=factories.COUNTY
    )
    for body in during:
        _assert_unknown_from_snapshot(body, "NOT_IN_SNAPSHOT")
        assert "enrolled after" in body["source"]["unknown_reason"]
        assert body["deposit_allowed"] == "0.00"
        assert body["deposit_basis"] == "status_unknown"


async def test_person_status_during_the_outage_is_unknown_with_the_snapshot_date(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await _snapshot_of_two_counties(app)
    for seq, county in ((913, factories.COUNTY), (914, CITY_HOSPITAL_COUNTY)):
        id_number = factories.resident_id(seq=seq)
        route = person_route(registry, id_number)
        route.side_effect = [
            httpx.Response(
                200, json=factories.registry_person("minimum_living", insured_county=county)
            ),
            httpx.Response(503),
        ]
        assert (await _status(client, hospital_headers, id_number))["covered"] is True
    await asyncio.sleep(1.2)
    for seq in (913, 914):
        body = await _status(client, hospital_headers, factories.resident_id(seq=seq))
        # Without an admission nobody reported the insured county: both reasons are possible.
        _assert_unknown_from_snapshot(body, "NOT_IN_SNAPSHOT")
        reason = body["source"]["unknown_reason"]
        assert "enrolled after" in reason
        assert "does not cover" in reason
        assert "990102, 990103" in reason


async def test_a_snapshot_record_without_cover_on_the_day_is_unknown_too(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """Listed, but in no covered category that day: the person may have re-entered since."""
    id_number = factories.resident_id(seq=915)
    await seed_snapshot(
        app,
        roster_person(
            id_number,
            categories=(("minimum_living", date(2016, 1, 1), date(2025, 12, 31)),),
        ),
        taken_at=SNAPSHOT_TAKEN,
    )
    person_route(registry, id_number).respond(503)
    body = await _admit(client, hospital_headers, id_number=id_number, deposit_intended="800")
    assert body["source"]["kind"] == "snapshot"
    assert body["registered"] is True
    assert body["covered"] is None
    assert body["pay_after_treatment"]["reasons"] == ["STATUS_UNKNOWN", "SNAPSHOT_SHOWS_NO_COVER"]
    assert body["deposit_allowed"] == "0.00"
    assert "ANSWERED_FROM_SNAPSHOT" in [w["code"] for w in body["warnings"]]


async def test_a_snapshot_confirms_cover_and_says_so_in_person_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=916)
    await seed_snapshot(app, roster_person(id_number, "lifted_out"), taken_at=SNAPSHOT_TAKEN)
    person_route(registry, id_number).respond(503)
    body = await _status(client, hospital_headers, id_number)
    assert (body["source"]["kind"], body["covered"]) == ("snapshot", True)
    assert "ANSWERED_FROM_SNAPSHOT" in [w["code"] for w in body["warnings"]]


async def test_person_status_keeps_the_snapshot_warning_without_a_policy(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """No policy in force for the person's county: still a snapshot answer, still said."""
    id_number = factories.resident_id(seq=917)
    await seed_snapshot(
        app,
        roster_person(id_number, "lifted_out", insured_county="110105"),
        taken_at=SNAPSHOT_TAKEN,
    )
    person_route(registry, id_number).respond(503)
    body = await _status(client, hospital_headers, id_number)
    assert body["source"]["kind"] == "snapshot"
    assert body["pay_after_treatment"]["reasons"] == ["NO_POLICY_IN_FORCE"]
    assert "ANSWERED_FROM_SNAPSHOT" in [w["code"] for w in body["warnings"]]


async def test_deposit_allowed_is_explained_for_every_basis(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    eligible_id, not_eligible_id = factories.resident_id(seq=918), factories.resident_id(seq=919)
    person_route(registry, eligible_id).respond(200, json=factories.registry_person())
    person_route(registry, not_eligible_id).respond(404, json={"code": "not_registered"})
    eligible = await _admit(client, hospital_headers, visit_id="V-E", id_number=eligible_id)
    other = await _admit(client, hospital_headers, visit_id="V-N", id_number=not_eligible_id)
    assert (eligible["deposit_allowed"], eligible["deposit_basis"]) == ("0.00", "eligible")
    assert (other["deposit_allowed"], other["deposit_basis"]) == (None, "not_eligible")
    assert "no limit" in other["deposit_explanation"]
    assert "pay-after-treatment" in eligible["deposit_explanation"]
