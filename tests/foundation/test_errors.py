"""Every error is RFC 9457 problem+json with a stable code; no stack trace reaches a client."""

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

PROBLEM = "application/problem+json"


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["type"].endswith(":not_found")
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "method_not_allowed"


async def test_validation_errors_name_the_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/keys", json={"role": "superuser", "surprise": 1}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "validation_error"
    fields = {e["field"] for e in body["errors"]}
    assert {"role", "surprise"} <= fields


async def test_malformed_json_is_a_422_problem(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/keys",
        content=b"{not json",
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_an_unexpected_error_is_a_500_problem_without_a_trace(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals 11010519491231002X")

    app.add_api_route("/explode", explode)
    response = await client.get("/explode")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_an_oversized_body_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes
    response = await client.post(
        "/v1/keys",
        content=b"x" * (limit + 1),
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_client_request_id_is_echoed_when_sane(client: httpx.AsyncClient) -> None:
    good = await client.get("/healthz", headers={"x-request-id": "his-0001-abcdef"})
    assert good.headers["x-request-id"] == "his-0001-abcdef"
    bad = await client.get("/healthz", headers={"x-request-id": "bad id\r\nx: y"})
    assert bad.headers["x-request-id"] != "bad id\r\nx: y"
    assert len(bad.headers["x-request-id"]) == 32


async def test_a_database_outage_is_a_503_that_keeps_the_connection(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    async def database_gone() -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    app.add_api_route("/database-gone", database_gone)
    # raise_app_exceptions=True: an exception escaping the app (as Starlette's catch-all handler
    # re-raises it, after which uvicorn closes the keep-alive connection) fails the request here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.get("/database-gone")
        metrics = (await c.get("/metrics", headers=admin_headers)).text
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "database_unavailable"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert 'route="/database-gone",status="503"' in metrics


async def test_every_operation_with_a_body_documents_the_size_limit(app: FastAPI) -> None:
    """BodySizeLimitMiddleware answers 413 before any route: the document must say so (a
    schemathesis run found an undocumented 413 on a 1 MB list of chain heads)."""
    missing = [
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and "413" not in operation["responses"]
    ]
    assert missing == []
