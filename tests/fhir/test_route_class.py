"""FhirRoute answers every problem its routes meet as an OperationOutcome, the database's
refusals and absence included; anything else is left to the app's handlers."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import DataError

from service.db import DatabaseUnavailable
from service.errors import Conflict, install_error_handlers
from service.fhir.outcome import FhirRoute
from service.fhir.systems import FHIR_JSON


def _app() -> FastAPI:
    router = APIRouter(route_class=FhirRoute)

    @router.get("/refused")
    async def refused() -> None:
        raise DataError("INSERT …", {}, ValueError("NUL"))

    @router.get("/absent")
    async def absent() -> None:
        raise DatabaseUnavailable("no answer")

    @router.get("/conflict")
    async def conflict() -> None:
        raise Conflict("taken")

    @router.get("/count")
    async def count(n: int) -> int:
        return n

    @router.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    return app


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://fhir.test") as client:
        return await client.get(path)


@pytest.mark.parametrize(
    ("path", "status", "issue_code", "problem"),
    [
        ("/refused", 422, "invalid", "invalid_value"),
        ("/absent", 503, "transient", "database_unavailable"),
        ("/conflict", 409, "conflict", "conflict"),
        ("/count?n=x", 422, "invalid", "validation_error"),
    ],
)
async def test_each_problem_is_an_operation_outcome(
    path: str, status: int, issue_code: str, problem: str
) -> None:
    response = await _get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(FHIR_JSON)
    issue = response.json()["issue"][0]
    assert issue["code"] == issue_code
    assert issue["details"]["coding"][0]["code"] == problem


async def test_a_parameter_refused_is_counted_as_a_parameter() -> None:
    response = await _get("/count?n=x")
    assert response.json()["issue"][0]["diagnostics"] == "1 parameter(s) failed validation"


async def test_a_bug_is_left_to_the_apps_handler() -> None:
    response = await _get("/bug")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "internal_error"
