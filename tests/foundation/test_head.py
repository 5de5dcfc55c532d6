"""HEAD answers as GET without a body (RFC 9110 §9.3.2; service/head.py): health probes, API
reads, console pages, FHIR's metadata, the documents. It was a 405 on every route."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from tests.browser import served

# Headers that differ between two answers to the same question.
PER_ANSWER = {"x-request-id", "date", "etag", "last-modified", "x-ratelimit-remaining"}

GETS = [
    ("/healthz", None),
    ("/readyz", None),
    ("/v1/violations?status=open", "auditor"),
    ("/v1/indicators", "auditor"),
    ("/v1/policies", "hospital"),
    ("/v1/violations/999999", "auditor"),  # a 404 is a 404 to HEAD too
    ("/v1/violations?nonsense=1", "auditor"),  # and an undeclared parameter a 422 (ADR 0024)
    ("/v1/violations", None),  # and no key a 401
    ("/fhir/metadata", None),
    ("/openapi.json", None),
    ("/docs", None),
    ("/console/login", None),
    ("/console/violations?status=open", None),  # signed out: to the sign-in page
    ("/console/static/console.css", None),
]


def assert_same_but_the_body(got: httpx.Response, head: httpx.Response) -> None:
    assert head.status_code == got.status_code
    assert head.content == b""
    same = {k: v for k, v in got.headers.items() if k not in PER_ANSWER}
    assert {k: v for k, v in head.headers.items() if k not in PER_ANSWER} == same


@pytest.mark.parametrize(("path", "who"), GETS)
async def test_head_answers_as_get_without_the_body(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    hospital_headers: dict[str, str],
    path: str,
    who: str | None,
) -> None:
    headers = {"auditor": auditor_headers, "hospital": hospital_headers}.get(who or "", {})
    got = await client.get(path, headers=headers)
    head = await client.head(path, headers=headers)
    assert_same_but_the_body(got, head)


async def test_head_is_refused_where_get_is(client: httpx.AsyncClient) -> None:
    head = await client.head("/nhsa")
    assert head.status_code == 405
    assert head.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/keys", "GET, HEAD, POST"),  # a list and a create: two routes
        ("PUT", "/v1/keys", "GET, HEAD, POST"),
        ("DELETE", "/v1/violations/verify", "GET, HEAD, POST"),
        ("POST", "/healthz", "GET, HEAD"),  # HEAD is answered wherever GET is
        ("HEAD", "/nhsa", "POST"),
        ("DELETE", "/console/login", "GET, HEAD, POST"),  # a console page and its form
        ("PUT", "/console/keys", "GET, HEAD, POST"),
        ("GET", "/console/logout", "POST"),
    ],
)
async def test_a_405_allows_every_method_of_the_address(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    """RFC 9110 §15.5.6: the Allow header lists the methods the resource supports. Starlette
    named only those of the first route on the path (POST for /v1/keys, which also lists)."""
    refused = await client.request(method, path)
    assert refused.status_code == 405
    assert refused.headers["allow"] == allow


async def test_the_access_log_and_metrics_still_say_head(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    assert (await client.head("/healthz")).status_code == 200
    labels = {"method": "HEAD", "route": "/healthz", "status": "200"}
    counted = app.state.metrics.registry.get_sample_value("settlecheck_http_requests_total", labels)
    assert counted == 1


async def test_a_served_head_sends_no_body(app: FastAPI) -> None:
    with served(create_app(app.state.settings)) as url:
        async with httpx.AsyncClient(base_url=url) as live:
            head = await live.head("/healthz")
            got = await live.get("/healthz")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
