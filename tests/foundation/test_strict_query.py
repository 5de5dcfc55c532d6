"""Every /v1 operation refuses a query parameter it does not declare (service/strict_query.py),
and accepts every one its OpenAPI description names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from service.app import create_app
from service.strict_query import STRICT_PREFIX, _Guarded, declared_query


def _documented_query(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    document: dict[str, Any] = app.openapi()
    return {
        (method.upper(), path): {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        for path, item in document["paths"].items()
        if path.startswith(STRICT_PREFIX)
        for method, op in item.items()
    }


def test_the_guard_accepts_exactly_the_documented_query_parameters(app: FastAPI) -> None:
    documented = _documented_query(app)
    guarded = {
        (method, route.path_format): set(declared_query(route.dependant))
        for route in app.router.routes
        if isinstance(route, APIRoute) and route.path.startswith(STRICT_PREFIX)
        for method in route.methods
    }
    assert guarded == documented
    assert guarded[("GET", "/v1/violations")] >= {"page_size", "hospital_code", "cursor"}


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/v1/settlements?dry_run=1", "hospital"),
        ("POST", "/v1/admissions?test=true", "hospital"),
        ("GET", "/v1/settlements?hospital=H1", "auditor"),
        ("GET", "/v1/receivables/overdue?limit=5&hospitalcode=H1", "auditor"),
    ],
)
async def test_an_undeclared_query_parameter_is_refused_before_anything_runs(
    client: httpx.AsyncClient, make_key: Any, method: str, path: str, role: str
) -> None:
    scope = {"hospital_code": "H990102002"} if role == "hospital" else {"region_prefix": "99"}
    headers = await make_key(role, **scope)

    answer = await client.request(method, path, headers=headers, json={})

    assert answer.status_code == 422, answer.text
    unknown = path.split("?")[1].split("&")[-1].split("=")[0]
    assert answer.json()["errors"] == [
        {
            "field": unknown,
            "message": "Extra inputs are not permitted",
            "code": "extra_forbidden",
        }
    ]


async def test_each_unknown_name_is_named_once_and_an_id_number_in_it_is_masked(
    client: httpx.AsyncClient, make_key: Any
) -> None:
    headers = await make_key("auditor", region_prefix="99")

    answer = await client.get(
        "/v1/settlements?x=1&x=2&420111195702100109=1&visit_id=V1", headers=headers
    )

    assert answer.status_code == 422, answer.text
    fields = [e["field"] for e in answer.json()["errors"]]
    assert fields == ["x", "420111********0109"]
    assert "195702100109" not in answer.text


async def test_declared_parameters_and_other_interfaces_are_unaffected(
    client: httpx.AsyncClient, make_key: Any
) -> None:
    auditor = await make_key("auditor", region_prefix="99")

    listed = await client.get(
        "/v1/settlements?hospital_code=H990102002&visit_id=V1", headers=auditor
    )
    metadata = await client.get("/fhir/metadata?_format=json", headers=auditor)

    assert listed.status_code == 200, listed.text
    assert metadata.status_code == 200, metadata.text


def test_routes_shared_by_every_app_of_the_process_are_guarded_once(settings: Any) -> None:
    for _ in range(3):
        app = create_app(settings)

    guarded = [
        r.app
        for r in app.router.routes
        if isinstance(r, APIRoute) and r.path.startswith(STRICT_PREFIX)
    ]
    assert len(guarded) > 50
    assert all(isinstance(g, _Guarded) for g in guarded)
    assert not any(isinstance(g.inner, _Guarded) for g in guarded)
