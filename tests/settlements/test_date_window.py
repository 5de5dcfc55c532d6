"""A discharge nobody can have is refused before anything is read or written: no settlement,
no accumulator rows for year 2999 (docs/decisions/0012)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.settlements.models import Accumulator, Settlement
from tests import factories


@pytest.fixture
async def visit_id(app: FastAPI) -> str:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    return str(row.visit_id)


IMPLAUSIBLE = [
    "2999-06-01T10:00:00+08:00",
    (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    "9999-12-31T23:00:00+00:00",
]


@pytest.mark.parametrize("discharged_at", IMPLAUSIBLE)
@pytest.mark.parametrize("path", ["/v1/settlements", "/v1/settlements/preview"])
async def test_a_discharge_in_the_future_is_refused_and_books_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    visit_id: str,
    discharged_at: str,
    path: str,
) -> None:
    payload = factories.settlement_request(visit_id, discharged_at=discharged_at)
    if path.endswith("preview"):
        payload.pop("his_settlement_id")
    response = await client.post(path, json=payload, headers=hospital_headers)
    assert response.status_code == 422, response.text
    fields = [(e["field"], e["code"]) for e in response.json()["errors"]]
    assert ("discharged_at", "implausible_date") in fields
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(Settlement))).all() == []
        assert (await s.exec(select(Accumulator))).all() == []


async def test_a_discharge_now_settles(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    payload = factories.settlement_request(visit_id, discharged_at=datetime.now(UTC).isoformat())
    response = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
    assert response.status_code == 201, response.text
