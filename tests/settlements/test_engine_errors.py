"""Only the engine's own input errors become client errors: anything else it raises is a bug
and answers 500, never a 422 that blames the caller."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx
import pytest
from fastapi import FastAPI

from service.policy.errors import ExternalAmountOutOfRange
from service.settlements import engine_run
from tests import factories
from tests.factories import settlement_request


@pytest.fixture
async def visit_id(app: FastAPI) -> str:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    return str(row.visit_id)


def _engine_raising(exc: Exception) -> Any:
    def _settle(*args: Any, **kwargs: Any) -> NoReturn:
        raise exc

    return _settle


async def test_an_engine_input_error_is_a_422(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    visit_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = ExternalAmountOutOfRange("basic_insurance", 10_00, 5_00)
    monkeypatch.setattr(engine_run, "settle", _engine_raising(error))
    response = await client.post(
        "/v1/settlements", json=settlement_request(visit_id), headers=hospital_headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_external_amounts"
    assert response.json()["errors"][0]["field"] == "external_amounts.basic_insurance"
    assert "given amount 10.00 for 'basic_insurance' is outside 0.00..5.00" in response.text


async def test_any_other_engine_error_is_a_500_not_the_callers_fault(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    visit_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_run, "settle", _engine_raising(ValueError("a rounding bug")))
    response = await client.post(
        "/v1/settlements", json=settlement_request(visit_id), headers=hospital_headers
    )
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
