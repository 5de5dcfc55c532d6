"""Every /v1 operation whose body is JSON refuses a body sent as anything else with a 415
`unsupported_media_type` naming what it accepts (service/strict_query.py), before anything runs;
uploads, the console, NHSA and FHIR answer as before."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from service.strict_query import STRICT_PREFIX, reads_json
from tests import factories

BODY = json.dumps(factories.admission_request()).encode()
OTHER_MEDIA = ["text/plain", "application/x-www-form-urlencoded", "text/json", "application/xml"]


def _json_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, route.path_format)
        for route in app.router.routes
        if isinstance(route, APIRoute)
        and route.path.startswith(STRICT_PREFIX)
        and reads_json(route.dependant)
        for method in sorted(route.methods)
    ]


@pytest.mark.parametrize("media", OTHER_MEDIA)
async def test_an_admission_sent_as_another_media_type_is_a_415(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], media: str
) -> None:
    answer = await client.post(
        "/v1/admissions", content=BODY, headers={**hospital_headers, "Content-Type": media}
    )

    assert answer.status_code == 415, answer.text
    problem = answer.json()
    assert problem["code"] == "unsupported_media_type"
    assert "application/json" in problem["detail"]
    assert media in problem["detail"]
    stored = await client.get("/v1/admissions/V-0001", headers=hospital_headers)
    assert stored.status_code == 404


async def test_a_body_without_a_content_type_is_a_415(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    answer = await client.post("/v1/admissions", content=BODY, headers=hospital_headers)

    assert answer.status_code == 415, answer.text
    assert "no Content-Type" in answer.json()["detail"]


async def test_every_json_body_operation_refuses_another_media_type_before_the_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    routes = _json_routes(app)
    assert len(routes) >= 20
    assert ("POST", "/v1/clearing/reconciliation") not in routes  # an upload

    answers = {
        (method, path): await client.request(
            method,
            re.sub(r"\{[^}]+\}", "1", path),
            content=b"{}",
            headers={"Content-Type": "text/plain"},
        )
        for method, path in routes
    }

    assert {k: a.status_code for k, a in answers.items()} == dict.fromkeys(routes, 415)
    documented = app.openapi()["paths"]
    undocumented = [(m, p) for m, p in routes if "415" not in documented[p][m.lower()]["responses"]]
    assert undocumented == []
    upload = documented["/v1/clearing/reconciliation"]["post"]["responses"]
    assert "415" not in upload


@pytest.mark.parametrize(
    "media",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ],
)
async def test_json_in_any_spelling_goes_on_to_the_key(
    client: httpx.AsyncClient, media: str
) -> None:
    answer = await client.post("/v1/admissions", content=BODY, headers={"Content-Type": media})

    assert answer.status_code == 401, answer.text


async def test_no_body_and_no_content_type_is_still_a_missing_body(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    answer = await client.post("/v1/admissions", headers=hospital_headers)

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "body"


async def test_uploads_nhsa_and_fhir_answer_as_before(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], make_key: Any
) -> None:
    auditor = await make_key("auditor", region_prefix="99")
    upload = await client.post(
        "/v1/clearing/reconciliation",
        files={"file": ("detail.csv", b"a,b\n", "text/csv")},
        headers=auditor,
    )
    fhir = await client.post(
        "/fhir/Claim", content=b"{}", headers={**hospital_headers, "Content-Type": "text/plain"}
    )
    nhsa = await client.post(
        "/nhsa", content=b"{}", headers={**hospital_headers, "Content-Type": "text/plain"}
    )

    assert upload.status_code != 415, upload.text
    assert (fhir.status_code, "fhir_unsupported_media_type") == (
        415,
        fhir.json()["issue"][0]["details"]["coding"][0]["code"],
    )
    assert nhsa.status_code != 415, nhsa.text
