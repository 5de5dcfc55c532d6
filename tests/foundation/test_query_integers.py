"""An integer in a query string is written with the digits 0-9 alone (service/schemas.py
`WholeQuery`): FastAPI's lax parsing read `limit=3.0`, `+3`, `03`, ` 3` and `3_0` as numbers
(3, 3, 3, 3, 30), so a client's formatting bug went unnoticed, or asked for another page size
than it showed. Each is a 422 naming the parameter."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.utils import _get_flat_fields_from_params
from fastapi.routing import APIRoute

from service.strict_query import _query_params
from tests import factories as f
from tests.factories import KeyFactory

NOT_PLAIN = ["3.0", "+3", "03", " 3", "3 ", "3_0", "-3", "-0", "0x3", "3e0", "３", ""]


def _integer_query_fields(app: FastAPI) -> list[tuple[str, Any]]:
    found = []
    for route in app.router.routes:
        if isinstance(route, APIRoute):
            for field in _get_flat_fields_from_params(list(_query_params(route.dependant))):
                if field.field_info.annotation in (int, int | None):
                    found.append((f"{sorted(route.methods)[0]} {route.path} {field.alias}", field))
    return found


def test_every_integer_query_parameter_refuses_what_is_not_plain_digits(app: FastAPI) -> None:
    fields = _integer_query_fields(app)
    assert {name.split()[-1] for name, _ in fields} >= {"limit", "page_size", "plan_year", "year"}
    for name, field in fields:
        for sent in NOT_PLAIN:
            _, errors = field.validate(sent, {}, loc=("query", field.alias))
            assert [e["type"] for e in errors] == ["int_not_plain"], (name, sent, errors)


@pytest.mark.parametrize("sent", ["3.0", "+3", "03", " 3", "3_0", "-3"])
async def test_a_limit_not_written_plainly_is_a_422_naming_it(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], sent: str
) -> None:
    answer = await client.get(
        f"/v1/receivables/overdue?limit={quote(sent)}",
        headers={**auditor_headers, "accept-language": "zh-CN"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    [error] = answer.json()["errors"]
    assert (error["field"], error["code"]) == ("limit", "int_not_plain")
    assert error["message"].startswith("应为整数")


@pytest.mark.parametrize(
    "url",
    [
        "/v1/violations?page_size=3.0",
        "/v1/clearing/statements?limit=%2B3",
        f"/v1/year-end/payments?region_code={f.COUNTY}&plan_year=02025",
        f"/v1/year-end/payments?region_code={f.COUNTY}&plan_year=2025&after=1.0",
        "/v1/receivables/indicators?year=2025.0",
        "/v1/receivables?settlement_id=%201",
    ],
)
async def test_every_kind_of_integer_query_parameter_refuses_it(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], url: str
) -> None:
    answer = await client.get(url, headers=auditor_headers)
    assert answer.status_code == 422, answer.text
    named = url.rsplit("&", 1)[-1].split("?")[-1].split("=")[0]
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [(named, "int_not_plain")]


async def test_plain_integers_still_read(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    for url in (
        "/v1/receivables/overdue?limit=3",
        "/v1/receivables/overdue?limit=200",
        "/v1/violations?page_size=10",
        "/v1/receivables/indicators?year=2025",
        f"/v1/year-end/payments?region_code={f.COUNTY}&plan_year=2025&after=0",
    ):
        answer = await client.get(url, headers=auditor_headers)
        assert answer.status_code in (200, 404), (url, answer.text)
        assert answer.status_code == 200 or answer.json()["code"] == "region_not_found", url
    zero = await client.get("/v1/receivables/overdue?limit=0", headers=auditor_headers)
    assert [e["code"] for e in zero.json()["errors"]] == ["greater_than_equal"]


async def test_the_consoles_year_end_page_refuses_it_naming_the_year(
    app: FastAPI, make_key: KeyFactory
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(
            browser, (await make_key("auditor", region_prefix="99"))["X-API-Key"]
        )
        page = await browser.get(f"/console/yearend?region_code={f.COUNTY}&plan_year=2025.0")
    assert page.status_code == 422, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert "plan_year: write a whole number with the digits 0-9 alone" in page.text
    assert 'name="plan_year" value="2025.0"' in page.text  # as typed, to correct
