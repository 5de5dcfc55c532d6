"""Hostile input: oversized and deeply nested bodies, injection in every place a caller controls
(query, path, X-Request-ID, the key header), and bodies with fields the server owns.

Each answer must be a clean 4xx problem (or an ordinary 200/404), never a 5xx, and the database
must be unchanged by an injection attempt."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from tests import factories

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE settlements; --",
    "x' UNION SELECT secret_sha256 FROM api_keys --",
    "%' OR 1=1 --",
    "\\'; SELECT pg_sleep(5); --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\u0000",
    "😀" * 40,
]


def _assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["code"]
    return body


async def _row_counts(app: FastAPI) -> dict[str, int]:
    from service.base import SQLModel

    async with app.state.engine.connect() as conn:
        return {
            t.name: (await conn.execute(sa.text(f'SELECT count(*) FROM "{t.name}"'))).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


# --- size and shape -------------------------------------------------------------------------


async def test_an_oversized_body_is_413_before_it_is_parsed(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes
    big = json.dumps({"visit_id": "V1", "name": "x" * (limit + 10)})
    response = await client.post(
        "/v1/admissions",
        content=big,
        headers={**hospital_headers, "content-type": "application/json"},
    )
    assert _assert_problem(response, 413)["code"] == "payload_too_large"


async def test_a_streamed_oversized_body_without_length_is_413(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes

    async def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = await client.post(
        "/v1/settlements",
        content=chunks(),
        headers={**hospital_headers, "content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_a_lying_content_length_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/admissions",
        content=b"{}",
        headers={**hospital_headers, "content-type": "application/json", "content-length": "-1"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("depth", [50, 5_000, 200_000])
@pytest.mark.parametrize("path", ["/v1/admissions", "/v1/settlements", "/v1/settlements/preview"])
async def test_deeply_nested_json_is_refused_cleanly(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], path: str, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    for body in (nested, '{"visit_id": ' + nested + "}", '{"a":' * depth + "1" + "}" * depth):
        response = await client.post(
            path,
            content=body.encode(),
            headers={**hospital_headers, "content-type": "application/json"},
        )
        _assert_problem(response, 400, 413, 422)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"\xff\xfe\x00", b'{"visit_id": "V1",}', b"NaN", b'{"bill": {"total": Infinity}}'],
)
async def test_malformed_json_is_a_problem_not_a_crash(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], raw: bytes
) -> None:
    response = await client.post(
        "/v1/settlements",
        content=raw,
        headers={**hospital_headers, "content-type": "application/json"},
    )
    _assert_problem(response, 400, 422)


# --- fields the server owns -----------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"id": 1},
        {"status": "settled"},
        {"hospital_code": factories.NEIGHBOUR_HOSPITAL},
        {"person_key": "k" * 64},
        {"funds_total": "99999.00"},
        {"__proto__": {"admin": True}},
    ],
)
async def test_unknown_fields_are_refused_on_admission(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], extra: dict[str, Any]
) -> None:
    body = {**factories.admission_request(), **extra}
    response = await client.post("/v1/admissions", json=body, headers=hospital_headers)
    problem = _assert_problem(response, 422)
    assert any(e["code"] == "extra_forbidden" for e in problem["errors"])
    assert factories.resident_id(seq=11) not in response.text


@pytest.mark.parametrize(
    "extra",
    [
        {"id": 7},
        {"status": "reversed"},
        {"hospital_code": factories.NEIGHBOUR_HOSPITAL},
        {"patient_pays": "0.00"},
        {"layers": []},
    ],
)
async def test_unknown_fields_are_refused_on_settlement(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], extra: dict[str, Any]
) -> None:
    body = {
        "visit_id": "V-1",
        "his_settlement_id": "S-1",
        "discharged_at": "2026-03-10T10:00:00+08:00",
        "bill": {"total": "100.00", "in_policy": "100.00", "out_of_policy": "0.00"},
        **extra,
    }
    for path in ("/v1/settlements", "/v1/settlements/preview"):
        response = await client.post(path, json=body, headers=hospital_headers)
        problem = _assert_problem(response, 422)
        assert any(e["code"] == "extra_forbidden" for e in problem["errors"])


async def test_unknown_fields_inside_nested_objects_are_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = {
        "visit_id": "V-1",
        "discharged_at": "2026-03-10T10:00:00+08:00",
        "bill": {"total": "1.00", "in_policy": "1.00", "out_of_policy": "0.00", "paid": "1.00"},
    }
    response = await client.post("/v1/settlements/preview", json=body, headers=hospital_headers)
    problem = _assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["bill.paid"]


# --- injection --------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_sql_injection_in_query_and_path_is_harmless(
    client: httpx.AsyncClient,
    app: FastAPI,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    payload: str,
) -> None:
    before = await _row_counts(app)
    segment = quote(payload, safe="")
    probes = [
        ("GET", "/v1/violations", {"hospital_code": payload}, auditor_headers),
        ("GET", "/v1/violations", {"status": payload, "rule_code": payload}, auditor_headers),
        ("GET", "/v1/violations", {"visit_id": payload}, auditor_headers),
        ("GET", "/v1/violations", {"cursor": payload}, auditor_headers),
        ("GET", "/v1/settlements", {"visit_id": payload}, hospital_headers),
        ("GET", f"/v1/admissions/{segment}", {}, hospital_headers),
        ("GET", f"/v1/persons/{segment}/status", {}, hospital_headers),
        ("GET", f"/v1/settlements/{segment}", {}, hospital_headers),
        ("GET", f"/v1/policies/{segment}", {}, hospital_headers),
        ("GET", "/v1/violations/scoreboard", {"period": payload}, auditor_headers),
    ]
    for method, path, params, headers in probes:
        response = await client.request(method, path, params=params, headers=headers)
        assert response.status_code < 500, (path, params, response.text[:300])
        if response.status_code == 200:
            body = response.json()
            assert body == [] or body.get("items", []) == [] or path.endswith("scoreboard")
    assert await _row_counts(app) == before


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_injection_in_body_strings_is_stored_as_data_or_refused(
    client: httpx.AsyncClient, app: FastAPI, hospital_headers: dict[str, str], payload: str
) -> None:
    before = await _row_counts(app)
    body = factories.admission_request(visit_id=payload[:64], name=payload[:32])
    response = await client.post("/v1/admissions", json=body, headers=hospital_headers)
    assert response.status_code < 500, response.text[:300]
    after = await _row_counts(app)
    assert set(after) == set(before)  # no table dropped
    assert all(after[t] >= before[t] for t in before)


@pytest.mark.parametrize(
    "request_id",
    [
        "abc\r\nSet-Cookie: session=evil",
        "' OR 1=1 --",
        "x" * 5000,
        "<script>",
        "500112196005170011",
    ],
)
async def test_a_hostile_request_id_is_replaced_not_echoed(
    client: httpx.AsyncClient, request_id: str
) -> None:
    # As bytes, so the client sends them as they are (it would refuse CR/LF in a str).
    response = await client.get("/healthz", headers={"X-Request-ID": request_id.encode()})
    echoed = response.headers["x-request-id"]
    assert echoed != request_id
    assert len(echoed) == 32
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "token",
    [
        "sck_' OR '1'='1_x",
        "sck_%_%",
        "sck_abc; DROP TABLE api_keys;--_x",
        "sck_" + "a" * 10_000 + "_b",
        "sck_\u00e9\u00e9_x",
        "Bearer sck_x_y",
    ],
)
async def test_injection_in_the_api_key_is_401(
    client: httpx.AsyncClient, app: FastAPI, token: str
) -> None:
    before = await _row_counts(app)
    # As UTF-8 bytes, so a non-ASCII token reaches the server instead of failing in the client.
    response = await client.get("/v1/policies", headers={"X-API-Key": token.encode()})
    assert _assert_problem(response, 401)["code"] == "unauthenticated"
    assert await _row_counts(app) == before


async def test_raw_header_bytes_reach_the_app_and_are_refused(app: FastAPI) -> None:
    """Bytes a client library would refuse (CR/LF, latin-1), sent at the ASGI level."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/policies",
        "raw_path": b"/v1/policies",
        "query_string": b"",
        "root_path": "",
        "server": ("t", 80),
        "client": ("127.0.0.1", 1),
        "headers": [
            (b"x-api-key", b"sck_\xe9\r\nx_y"),
            (b"x-request-id", b"a\r\nb" * 4),
        ],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    assert start["status"] == 401
    rid = dict(start["headers"])[b"x-request-id"]
    assert b"\r" not in rid
    assert b"\n" not in rid


async def test_limit_beyond_the_page_size_is_refused(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], app: FastAPI
) -> None:
    too_many = app.state.settings.max_page_size + 1
    response = await client.get(
        "/v1/violations", params={"page_size": too_many}, headers=auditor_headers
    )
    problem = _assert_problem(response, 422)
    assert problem["errors"][0]["field"].endswith("page_size")


_NOT_A_VISIT_ID = ["V" * 65, quote("V 1"), quote("V\x001"), quote("住院1")]
_DEPOSIT = {"receipt_no": "R1", "amount": "1.00", "taken_at": "2026-03-10T09:00:00+08:00"}


@pytest.mark.parametrize("segment", _NOT_A_VISIT_ID)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("POST", "/deposits", _DEPOSIT), ("POST", "/reversal", {"reason": "x"})],
)
async def test_an_admission_path_that_cannot_hold_a_visit_id_names_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    hospital_headers: dict[str, str],
    segment: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    before = await _row_counts(app)
    path = f"/v1/admissions/{segment}{suffix}"
    response = await client.request(method, path, json=body, headers=hospital_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["visit_id"]
    assert await _row_counts(app) == before


@pytest.mark.parametrize("segment", ["x", "f" * 63, "F" * 64, "f" * 65, quote("f" * 63 + "\x00")])
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("POST", "/withdrawal", {"reason": "typo"})],
)
async def test_a_policy_path_that_cannot_hold_a_content_hash_names_it(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    segment: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    response = await client.request(
        method, f"/v1/policies/{segment}{suffix}", json=body, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    field = "content_hash" if method == "GET" else "withdraw_hash"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_an_unknown_but_well_formed_content_hash_is_not_found(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(f"/v1/policies/{'0' * 64}", headers=admin_headers)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "policy_version_not_found"


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field", "role"),
    [
        ("GET", "/v1/indicators", {"region": "99".translate(ARABIC_INDIC)}, None, "region",
         "auditor"),
        ("GET", "/v1/hospitals", {"region": "99".translate(ARABIC_INDIC)}, None, "region",
         "admin"),
        ("POST", "/v1/keys", {}, {"role": "auditor", "region_prefix": "99".translate(ARABIC_INDIC)},
         "region_prefix", "admin"),
        ("PUT", "/v1/regions/" + "990104".translate(ARABIC_INDIC), {},
         {"name": "县", "level": "county", "parent_code": "990100"}, "region_code", "admin"),
        ("POST", "/v1/admissions", {},
         factories.admission_request(insured_county=factories.COUNTY.translate(ARABIC_INDIC)),
         "insured_county", "hospital"),
        ("GET", "/v1/clearing/statement",
         {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
          "period": "2026-03".translate(ARABIC_INDIC)}, None, "period", "admin"),
    ],
)  # fmt: skip
async def test_a_code_written_in_other_digits_is_refused_naming_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    admin_headers: dict[str, str],
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, Any] | None,
    field: str,
    role: str,
) -> None:
    headers = {"hospital": hospital_headers, "auditor": auditor_headers, "admin": admin_headers}
    before = await _row_counts(app)
    response = await client.request(method, path, params=params, json=body, headers=headers[role])
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await _row_counts(app) == before
