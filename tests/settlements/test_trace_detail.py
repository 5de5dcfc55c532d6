"""`?trace=`: how much of the calculation trace an answer shows; the stored settlement and
every other field stay the same, and a replay answers the same way."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests import factories
from tests.factories import settlement_request


async def _visit(app: FastAPI) -> str:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    return str(row.visit_id)


@pytest.mark.parametrize("detail", ["summary", "none"])
async def test_a_shorter_trace_changes_only_the_trace(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], detail: str
) -> None:
    visit_id = await _visit(app)
    body = settlement_request(visit_id)
    short = await client.post(
        f"/v1/settlements?trace={detail}", json=body, headers=hospital_headers
    )
    assert short.status_code == 201, short.text
    assert short.headers["location"] == f"/v1/settlements/{short.json()['id']}"
    replay = await client.post("/v1/settlements", json=body, headers=hospital_headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    full = replay.json()
    assert len(full["trace"]) > 3
    expected = [t for t in full["trace"] if t["step"] == "total"] if detail == "summary" else []
    assert short.json()["trace"] == expected
    if detail == "summary":
        assert len(expected) == 1
        assert "20500.00" in expected[0]["zh"]
    assert {**short.json(), "trace": None} == {**full, "trace": None}
    stored = await client.get(f"/v1/settlements/{full['id']}", headers=hospital_headers)
    assert stored.json()["trace"] == full["trace"]
    again = await client.get(
        f"/v1/settlements/{full['id']}?trace={detail}", headers=hospital_headers
    )
    assert again.json()["trace"] == expected


async def test_the_preview_takes_the_same_choice(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id = await _visit(app)
    body = settlement_request(visit_id)
    body.pop("his_settlement_id")
    response = await client.post(
        "/v1/settlements/preview?trace=none", json=body, headers=hospital_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["trace"] == []
    assert response.json()["status"] == "preview"


async def test_an_unknown_trace_detail_is_a_422(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    visit_id = await _visit(app)
    response = await client.post(
        "/v1/settlements?trace=short", json=settlement_request(visit_id), headers=hospital_headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
