"""A body that repeats a key in one object is refused on every route that parses JSON
(service/json_body.py, ADR 0026), never read as its last value."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from service.flat_route import FlatRoute
from service.json_body import DuplicateKey, _Checked, _wrapped, parse
from tests import factories

JSON = {"Content-Type": "application/json"}


def _repeating(body: dict[str, Any], key: str, first: Any) -> bytes:
    """`body` as JSON with `key` sent twice: `first`, then the body's own value."""
    text = json.dumps(body, ensure_ascii=False)
    return text.replace("{", "{" + json.dumps(key) + ": " + json.dumps(first) + ", ", 1).encode()


def test_parse_reads_a_body_without_repeats_as_json_loads_does() -> None:
    raw = json.dumps(factories.settlement_request("V-1")).encode()
    assert parse(raw) == json.loads(raw)
    # The same key in sibling objects is not a repeat.
    assert parse(b'{"lines": [{"code": "a"}, {"code": "b"}]}') == {
        "lines": [{"code": "a"}, {"code": "b"}]
    }


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"visit_id": "A", "visit_id": "B"}', "visit_id"),
        # Escapes decode to the same key: no search of the raw text would see it.
        (b'{"visit_id": "A", "visit\\u005fid": "B"}', "visit_id"),
        (b'{"bill": {"total": "1.00", "total": "2.00"}}', "bill.total"),
        (b'{"lines": [{"code": "a"}, {"code": "b", "n": 1, "code": "c"}]}', "lines.1.code"),
    ],
)
def test_parse_names_the_repeated_key_by_its_path(raw: bytes, path: str) -> None:
    with pytest.raises(DuplicateKey) as caught:
        parse(raw)
    assert caught.value.errors[0].field == path


async def test_an_admission_with_a_repeated_key_is_refused_and_not_recorded(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = factories.admission_request(visit_id="DUPK-3", id_number=factories.resident_id(seq=41))
    raw = _repeating(body, "visit_id", "DUPK-2")

    answer = await client.post("/v1/admissions", content=raw, headers=hospital_headers | JSON)

    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "duplicate_key"
    assert problem["errors"][0]["field"] == "visit_id"
    for visit in ("DUPK-2", "DUPK-3"):
        seen = await client.get(f"/v1/admissions/{visit}", headers=hospital_headers)
        assert seen.status_code == 404, seen.text


async def test_a_settlement_with_a_repeated_key_deep_in_its_bill_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    text = json.dumps(factories.settlement_request("V-DUP"))
    raw = text.replace('"total": ', '"total": "1.00", "total": ', 1).encode()

    answer = await client.post("/v1/settlements", content=raw, headers=hospital_headers | JSON)

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "duplicate_key"
    assert answer.json()["errors"][0]["field"] == "bill.total"


async def test_a_cold_route_refuses_a_repeated_key_too(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    raw = b'{"role": "auditor", "role": "admin", "region_prefix": "99"}'

    answer = await client.post("/v1/keys", content=raw, headers=admin_headers | JSON)

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "duplicate_key"
    assert answer.json()["errors"][0]["field"] == "role"


async def test_nhsa_answers_a_repeated_key_in_its_envelope(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    raw = b'{"infno": "1101", "infno": "2401", "input": {}}'

    answer = await client.post("/nhsa", content=raw, headers=hospital_headers | JSON)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["infcode"] == -1
    assert body["err_msg"].startswith("[duplicate_key]")
    assert "(field: infno)" in body["err_msg"]


async def test_fhir_answers_a_repeated_key_with_an_operation_outcome(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    raw = b'{"resourceType": "Claim", "status": "active", "status": "cancelled"}'
    fhir = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}

    answer = await client.post("/fhir/Claim", content=raw, headers=hospital_headers | fhir)

    assert answer.status_code == 422, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "duplicate_key"
    assert issue["expression"] == ["status"]


def test_every_route_that_can_take_a_body_is_checked(app: FastAPI) -> None:
    """A flat route reads its body with `parse`; every other route with a body method is
    wrapped, once, however many apps the process builds."""
    from service.app import create_app

    create_app(app.state.settings)  # a second app must not wrap the shared routes again
    body_routes = [
        r
        for r in app.router.routes
        if isinstance(r, APIRoute) and (r.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert len(body_routes) > 20
    for route in body_routes:
        if isinstance(route, FlatRoute):
            continue
        assert _wrapped(route.app), route.path
        layers, layer = 0, route.app
        while layer is not None:
            layers += isinstance(layer, _Checked)
            layer = getattr(layer, "inner", None)
        assert layers == 1, route.path


DEEP = b"[" * 3000 + b"]" * 3000  # a few KB past the decoder's recursion; was a 500


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/admissions", "application/json"),  # a hot write (FlatRoute)
        ("/v1/receivables/1/payments", "application/json"),
        ("/v1/keys", "application/json"),
        ("/console/login", "application/json"),
    ],
)
async def test_a_body_nested_past_the_decoder_is_a_422_not_a_500(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], path: str, content_type: str
) -> None:
    answer = await client.post(path, content=DEEP, headers={"Content-Type": content_type})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "malformed_body"
    # The connection stays usable: the server answered rather than failed.
    assert (await client.get("/healthz")).status_code == 200


async def test_nhsa_and_fhir_answer_a_too_deep_body_in_their_own_format(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    nhsa = await client.post("/nhsa", content=DEEP, headers=hospital_headers | JSON)
    assert (nhsa.status_code, nhsa.json()["infcode"]) == (200, -1)
    assert nhsa.json()["err_msg"].startswith("[malformed_body]")
    fhir = {"Content-Type": "application/fhir+json"}
    claim = await client.post("/fhir/Claim", content=DEEP, headers=hospital_headers | fhir)
    assert claim.status_code == 422, claim.text
    assert claim.json()["resourceType"] == "OperationOutcome"
