"""When the registry cannot answer: cache, snapshot with its age, then `unknown` — never a
"not eligible" nobody said."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
import respx
from fastapi import FastAPI

from tests import factories
from tests.factories import person_route, roster_person, seed_snapshot


async def _admit(client: httpx.AsyncClient, headers: dict[str, str], **kw: object) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/v1/admissions", json=factories.admission_request(**kw), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


class _Drip(httpx.AsyncByteStream):
    """A registry that answers at once and then drips its body: httpx's per-read timeouts
    alone would wait for ever."""

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b'{"insured_county": '
        await asyncio.sleep(5)
        yield b'"990102"}'


FAILURES = {
    "slow": {
        "return_value": httpx.Response(
            200, headers={"content-type": "application/json"}, stream=_Drip()
        )
    },
    "5xx": {"return_value": httpx.Response(503, text="down")},
    "malformed_json": {
        "return_value": httpx.Response(
            200, content=b"{not json", headers={"content-type": "application/json"}
        )
    },
    "wrong_shape": {"return_value": httpx.Response(200, json={"categories": "all of them"})},
    "html_404": {"return_value": httpx.Response(404, text="<html>Not Found</html>")},
    "connect_error": {"side_effect": httpx.ConnectError("refused")},
}
PROBLEM = {
    "slow": "registry_timeout",
    "5xx": "registry_bad_response",
    "malformed_json": "registry_bad_response",
    "wrong_shape": "registry_bad_response",
    "html_404": "registry_bad_response",
    "connect_error": "registry_unreachable",
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_each_registry_failure_falls_back_to_the_snapshot_with_its_age(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    failure: str,
) -> None:
    id_number = factories.resident_id(seq=201)
    await seed_snapshot(
        app, roster_person(id_number, "minimum_living"), taken_at=datetime(2026, 3, 1, tzinfo=UTC)
    )
    person_route(registry, id_number).mock(**FAILURES[failure])
    started = asyncio.get_running_loop().time()
    body = await _admit(client, hospital_headers, id_number=id_number)
    assert asyncio.get_running_loop().time() - started < 2  # the deadline held
    assert body["source"]["kind"] == "snapshot"
    assert body["source"]["registry_problem"] == PROBLEM[failure]
    assert body["source"]["snapshot_taken_at"].startswith("2026-03-01")
    assert body["source"]["snapshot_age_seconds"] > 0
    assert body["pay_after_treatment"]["eligible"] is True
    assert "ANSWERED_FROM_SNAPSHOT" in [w["code"] for w in body["warnings"]]


async def test_a_failure_is_never_cached_as_an_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=202)
    route = person_route(registry, id_number)
    route.side_effect = [
        httpx.Response(503),
        httpx.Response(200, json=factories.registry_person("destitute")),
    ]
    first = await _admit(client, hospital_headers, id_number=id_number, visit_id="V-A")
    second = await _admit(client, hospital_headers, id_number=id_number, visit_id="V-B")
    assert first["source"]["kind"] == "unknown"
    assert second["source"]["kind"] == "registry"
    assert second["pay_after_treatment"]["eligible"] is True
    assert route.call_count == 2


async def test_neither_registry_nor_snapshot_gives_unknown_with_no_deposit(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=203)
    person_route(registry, id_number).respond(500)
    body = await _admit(client, hospital_headers, id_number=id_number, deposit_intended="800")
    assert body["source"]["kind"] == "unknown"
    assert "no roster snapshot" in body["source"]["unknown_reason"]
    assert body["registered"] is None
    assert body["pay_after_treatment"] == {"eligible": None, "reasons": ["STATUS_UNKNOWN"]}
    assert body["deposit_allowed"] == "0.00"
    assert body["violations"] == []


async def test_a_person_missing_from_the_snapshot_is_unknown_not_unregistered(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=204)
    await seed_snapshot(app, roster_person(factories.resident_id(seq=999), "destitute"))
    person_route(registry, id_number).respond(502)
    body = await _admit(client, hospital_headers, id_number=id_number)
    # A snapshot's silence proves nothing (ADR 0011; tests/admissions/test_snapshot_coverage.py).
    assert body["source"]["kind"] == "unknown"
    assert body["registered"] is None
    assert body["pay_after_treatment"]["eligible"] is None
    assert body["deposit_allowed"] == "0.00"


async def test_breaker_opens_and_the_registry_is_not_called(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=205)
    route = person_route(registry, id_number).respond(503)
    for i in range(3):  # registry_breaker_failures=3 in these tests
        await _admit(client, hospital_headers, id_number=id_number, visit_id=f"V-{i}")
    body = await _admit(client, hospital_headers, id_number=id_number, visit_id="V-open")
    assert route.call_count == 3
    assert body["source"]["registry_problem"] == "registry_circuit_open"
    assert body["source"]["kind"] == "unknown"


async def test_within_the_ttl_the_cache_answers(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=206)
    route = person_route(registry, id_number).respond(200, json=factories.registry_person())
    first = await _admit(client, hospital_headers, id_number=id_number, visit_id="V-1")
    second = await _admit(client, hospital_headers, id_number=id_number, visit_id="V-2")
    assert route.call_count == 1
    assert (first["source"]["kind"], second["source"]["kind"]) == ("registry", "cache")
    assert second["pay_after_treatment"] == first["pay_after_treatment"]


async def test_a_not_registered_answer_is_cached_too(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=207)
    route = person_route(registry, id_number).respond(404, json={"code": "not_registered"})
    await _admit(client, hospital_headers, id_number=id_number, visit_id="V-1")
    second = await _admit(client, hospital_headers, id_number=id_number, visit_id="V-2")
    assert route.call_count == 1
    assert second["registered"] is False


async def test_cache_keys_never_hold_the_id_number(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=208)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    await _admit(client, hospital_headers, id_number=id_number)
    key = app.state.id_hasher.key_of(id_number)
    assert await app.state.cache.get(f"person-status:v1:{key}") is not None
    assert await app.state.cache.get(f"person-status:v1:{id_number}") is None
