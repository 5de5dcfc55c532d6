"""One admission per (hospital, visit id), whatever the retries; one hospital never sees
another's admissions; invalid input is a 422 naming the field."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from fastapi import FastAPI

from service.admissions.models import Admission, AdmissionEvent
from tests import factories
from tests.factories import person_route

ID = factories.resident_id(seq=301)


@pytest.fixture
def registered(registry: respx.MockRouter) -> respx.Route:
    return person_route(registry, ID).respond(200, json=factories.registry_person())


async def _count(app: FastAPI, table: type[Admission | AdmissionEvent] = Admission) -> int:
    async with app.state.sessionmaker() as s:
        return int((await s.exec(sa.select(sa.func.count()).select_from(table))).one()[0])


async def _post(client: httpx.AsyncClient, headers: dict[str, str], **kw: Any) -> httpx.Response:
    body = factories.admission_request(id_number=ID, **kw)
    return await client.post("/v1/admissions", json=body, headers=headers)


async def test_a_retry_gets_the_same_status_and_body(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], registered: Any
) -> None:
    first = await _post(client, hospital_headers)
    retry = await _post(client, hospital_headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert await _count(app) == 1
    assert await _count(app, AdmissionEvent) == 1  # a replay writes no second "admitted"


async def test_a_retry_with_a_different_body_is_a_conflict(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], registered: Any
) -> None:
    await _post(client, hospital_headers)
    response = await _post(client, hospital_headers, deposit_intended="100.00")
    assert response.status_code == 409
    assert response.json()["code"] == "admission_conflict"
    assert await _count(app) == 1


async def test_concurrent_identical_retries_create_one_admission(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], registered: Any
) -> None:
    responses = await asyncio.gather(*(_post(client, hospital_headers) for _ in range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await _count(app) == 1
    assert await _count(app, AdmissionEvent) == 1  # only the winner's insert wrote its event


async def test_the_same_visit_id_at_another_hospital_is_another_admission(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    registered: Any,
) -> None:
    await _post(client, hospital_headers)
    other = await _post(client, other_hospital_headers, deposit_intended="9.99")
    assert other.status_code == 201
    assert other.json()["hospital_code"] == factories.NEIGHBOUR_HOSPITAL
    assert await _count(app) == 2


async def test_another_hospital_can_neither_read_nor_write_the_admission(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    registered: Any,
) -> None:
    await _post(client, hospital_headers)
    path = "/v1/admissions/V-0001"
    deposit = {"receipt_no": "R1", "amount": "100", "taken_at": "2026-03-10T09:00:00+08:00"}
    calls = [
        client.get(path, headers=other_hospital_headers),
        client.get(
            path,
            params={"hospital_code": factories.COUNTY_HOSPITAL},
            headers=other_hospital_headers,
        ),
        client.post(f"{path}/deposits", json=deposit, headers=other_hospital_headers),
        client.post(f"{path}/reversal", json={"reason": "x"}, headers=other_hospital_headers),
    ]
    for response in await asyncio.gather(*calls):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "admission_not_found"
    mine = await client.get(path, headers=hospital_headers)
    assert mine.status_code == 200
    assert mine.json()["state"] == "admitted"


async def test_auditors_read_admissions_in_their_region_only(
    client: httpx.AsyncClient,
    make_key: Any,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    registered: Any,
) -> None:
    await _post(client, hospital_headers)
    params = {"hospital_code": factories.COUNTY_HOSPITAL}
    seen = await client.get("/v1/admissions/V-0001", params=params, headers=auditor_headers)
    assert seen.status_code == 200
    elsewhere = await make_key("auditor", region_prefix="50")
    hidden = await client.get("/v1/admissions/V-0001", params=params, headers=elsewhere)
    assert hidden.status_code == 404
    no_hospital = await client.get("/v1/admissions/V-0001", headers=auditor_headers)
    assert no_hospital.status_code == 422
    assert no_hospital.json()["errors"][0]["field"] == "hospital_code"


async def test_only_hospitals_admit(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/admissions", json=factories.admission_request(), headers=auditor_headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("id_number", "why"),
    [
        (ID[:-1] + ("0" if ID[-1] != "0" else "1"), "check digit"),
        ("99" + ID[2:], "region code"),
        (
            factories.resident_id(born=__import__("datetime").date(1960, 1, 1))[:10]
            + "1399"
            + ID[14:],
            "date of birth",
        ),
        ("12345", "18 characters"),
    ],
)
async def test_invalid_id_numbers_are_422_naming_the_field(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], id_number: str, why: str
) -> None:
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(id_number=id_number),
        headers=hospital_headers,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_resident_id"
    assert problem["errors"][0]["field"] == "id_number"
    assert why in problem["detail"]
    assert id_number not in response.text


async def test_the_old_15_digit_form_is_converted(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    eighteen = factories.resident_id(born=__import__("datetime").date(1960, 5, 17), seq=302)
    fifteen = eighteen[:6] + eighteen[8:17]
    route = person_route(registry, eighteen).respond(200, json=factories.registry_person())
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(id_number=fifteen),
        headers=hospital_headers,
    )
    assert response.status_code == 201
    assert route.call_count == 1


@pytest.mark.parametrize(
    "extra",
    [{"hospital_code": factories.NEIGHBOUR_HOSPITAL}, {"eligible": True}, {"deposit_allowed": "0"}],
)
async def test_fields_the_server_decides_are_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], extra: dict[str, Any]
) -> None:
    body = factories.admission_request() | extra
    response = await client.post("/v1/admissions", json=body, headers=hospital_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(extra))


async def test_amounts_with_more_than_two_decimals_are_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = factories.admission_request(deposit_intended="10.005")
    response = await client.post("/v1/admissions", json=body, headers=hospital_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "deposit_intended"
