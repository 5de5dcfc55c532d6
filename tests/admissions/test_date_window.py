"""Dates nobody can have are refused with a 422 naming the field (docs/decisions/0012): an
admission in the future or before the floor, a deposit outside the stay, a status check on a
day that has not come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from sqlmodel import select

from service.admissions.models import Admission, AdmissionDeposit
from tests import factories
from tests.factories import person_route


def _iso(at: datetime) -> str:
    return at.isoformat()


NOW = datetime.now(UTC)


def _field_codes(response: httpx.Response) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "admitted_at",
    [
        "2999-01-01T08:00:00+08:00",
        _iso(NOW + timedelta(days=5 * 365)),
        _iso(NOW + timedelta(hours=1)),
        "1999-12-31T08:00:00+08:00",
        "0001-01-02T00:00:00+00:00",
        "9999-12-31T00:00:00+00:00",
    ],
)
async def test_an_admission_outside_the_window_is_refused_and_not_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    admitted_at: str,
) -> None:
    # No registry route: a date refused at the edge never reaches the registry.
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(admitted_at=admitted_at),
        headers=hospital_headers,
    )
    assert response.status_code == 422, response.text
    assert ("admitted_at", "implausible_date") in _field_codes(response)
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(Admission))).all() == []


async def test_an_admission_within_the_clock_skew_is_accepted(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    person_route(registry, factories.resident_id(seq=11)).respond(
        200, json=factories.registry_person()
    )
    soon = _iso(datetime.now(UTC) + timedelta(seconds=60))
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(admitted_at=soon),
        headers=hospital_headers,
    )
    assert response.status_code == 201, response.text


async def _admitted(
    client: httpx.AsyncClient, registry: respx.MockRouter, headers: dict[str, str]
) -> dict[str, Any]:
    person_route(registry, factories.resident_id(seq=11)).respond(
        200, json=factories.registry_person("low_income_edge")
    )
    response = await client.post(
        "/v1/admissions", json=factories.admission_request(), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "taken_at",
    [
        "2999-01-01T08:00:00+08:00",
        _iso(NOW + timedelta(days=1)),
        "2026-03-09T08:00:00+08:00",  # the day before the admission (2026-03-10 08:00)
        "2026-03-10T07:00:00+08:00",  # an hour before it: more than the clock skew
        "0001-01-02T00:00:00+00:00",
    ],
)
async def test_a_deposit_outside_the_stay_is_refused_and_not_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    taken_at: str,
) -> None:
    await _admitted(client, registry, hospital_headers)
    response = await client.post(
        "/v1/admissions/V-0001/deposits",
        json={"receipt_no": "R-1", "amount": "100.00", "taken_at": taken_at},
        headers=hospital_headers,
    )
    assert response.status_code == 422, response.text
    assert ("taken_at", "implausible_date") in _field_codes(response)
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(AdmissionDeposit))).all() == []


async def test_a_deposit_before_the_admission_names_it_in_china_time(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    await _admitted(client, registry, hospital_headers)
    response = await client.post(
        "/v1/admissions/V-0001/deposits",
        json={"receipt_no": "R-1", "amount": "100.00", "taken_at": "2026-03-09T08:00:00+08:00"},
        headers=hospital_headers,
    )
    assert response.status_code == 422, response.text
    assert (
        response.json()["detail"] == "taken_at is before the admission at 2026-03-10T08:00:00+08:00"
    )


async def test_a_deposit_at_admission_within_the_clock_skew_is_accepted(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    await _admitted(client, registry, hospital_headers)
    response = await client.post(
        "/v1/admissions/V-0001/deposits",
        json={"receipt_no": "R-1", "amount": "100.00", "taken_at": "2026-03-10T07:58:00+08:00"},
        headers=hospital_headers,
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("on", ["2999-01-01", "0001-01-01", "9999-12-31", "1999-12-31"])
async def test_a_status_check_on_an_implausible_day_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter, on: str
) -> None:
    response = await client.get(
        f"/v1/persons/{factories.resident_id(seq=11)}/status",
        params={"on": on},
        headers=hospital_headers,
    )
    assert response.status_code == 422, response.text
    assert ("on", "implausible_date") in _field_codes(response)


async def test_a_deposit_after_the_discharge_of_a_settled_visit_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    await _admitted(client, registry, hospital_headers)
    settled = await client.post(
        "/v1/settlements",
        json={
            "visit_id": "V-0001",
            "his_settlement_id": "S-1",
            "discharged_at": "2026-03-12T10:00:00+08:00",
            "bill": {"total": "1000.00", "in_policy": "1000.00", "out_of_policy": "0.00"},
        },
        headers=hospital_headers,
    )
    assert settled.status_code == 201, settled.text
    deposit = {"receipt_no": "R-1", "amount": "100.00"}
    late = await client.post(
        "/v1/admissions/V-0001/deposits",
        json=deposit | {"taken_at": "2026-03-20T09:00:00+08:00"},
        headers=hospital_headers,
    )
    assert late.status_code == 422, late.text
    assert ("taken_at", "implausible_date") in _field_codes(late)
    during = await client.post(
        "/v1/admissions/V-0001/deposits",
        json=deposit | {"taken_at": "2026-03-11T09:00:00+08:00"},
        headers=hospital_headers,
    )
    assert during.status_code == 201, during.text
