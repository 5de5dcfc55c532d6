"""Extreme filters get a 422 naming the field before anything is queried or streamed; an export
that fails after its first byte says so in its last line and in the logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.violations import export
from tests import factories as f

LEDGER_ROUTES = ["/v1/violations", "/v1/violations/export.csv", "/v1/violations/export.xlsx"]
PERIOD_ROUTES = [
    "/v1/violations/scoreboard",
    "/v1/violations/scoreboard/export.csv",
    "/v1/violations/scoreboard/export.xlsx",
    "/v1/indicators",
]
EXTREMES = ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"]


@pytest.fixture
async def ledger(app: FastAPI) -> list[int]:
    return await f.book(app.state.sessionmaker, f.finding(visit_id="V1"), f.finding(visit_id="V2"))


def _fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("name", ["detected_from", "detected_to"])
@pytest.mark.parametrize("path", LEDGER_ROUTES)
async def test_an_extreme_ledger_date_filter_is_a_422(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    path: str,
    name: str,
    day: str,
) -> None:
    response = await client.get(path, params={name: day}, headers=auditor_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert name in _fields(response)


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("path", PERIOD_ROUTES)
async def test_an_extreme_period_is_a_422(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    path: str,
    name: str,
    day: str,
) -> None:
    response = await client.get(path, params={name: day}, headers=auditor_headers)
    assert response.status_code == 422, response.text
    assert name in _fields(response)


BACKWARDS = {"detected_from": "2026-04-01", "detected_to": "2026-03-01"}
BACKWARDS_PERIOD = {"from": "2026-04-01", "to": "2026-03-01"}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/violations", BACKWARDS, "detected_to"),
        ("/v1/violations/export.csv", BACKWARDS, "detected_to"),
        ("/v1/violations/scoreboard", BACKWARDS_PERIOD, "to"),
        ("/v1/indicators", BACKWARDS_PERIOD, "to"),
    ],
)
async def test_a_period_ending_before_it_starts_is_a_422(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    response = await client.get(path, params=params, headers=auditor_headers)
    assert response.status_code == 422, response.text
    assert field in _fields(response)


@pytest.mark.parametrize("visit_id", ["\x00", "V1\x00", "a\nb", "\x7f"])
@pytest.mark.parametrize("path", ["/v1/violations", "/v1/violations/export.csv"])
async def test_control_characters_in_a_filter_are_a_422_not_a_cut_stream(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    path: str,
    visit_id: str,
) -> None:
    response = await client.get(path, params={"visit_id": visit_id}, headers=auditor_headers)
    assert response.status_code == 422, response.text
    assert "visit_id" in _fields(response)


async def test_a_plausible_filter_still_exports_every_row(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get(
        "/v1/violations/export.csv",
        params={"detected_from": "2000-01-01", "detected_to": "2099-12-31"},
        headers=auditor_headers,
    )
    assert response.status_code == 200, response.text
    lines = response.text.strip().splitlines()
    assert len(lines) == 3
    assert export.FAILED_MARK not in response.text


async def test_an_error_before_the_first_byte_is_a_problem_not_a_200(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise RuntimeError("the database went away")
        yield  # pragma: no cover

    monkeypatch.setattr(export, "iter_violations", broken)
    response = await client.get("/v1/violations/export.csv", headers=auditor_headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


async def _rows(n: int, then: Exception) -> AsyncIterator[list[Any]]:
    for i in range(n):
        yield [i, "x"]
    raise then


async def test_a_csv_failing_after_its_first_byte_ends_with_a_line_saying_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chunks = []
    with caplog.at_level(logging.ERROR, logger="settlecheck.export"):
        stream = export.csv_stream(("a", "b"), _rows(1200, RuntimeError("boom")), flush_every=500)
        async for chunk in stream:
            chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(chunks) >= 2  # the failure came after bytes were sent
    assert lines[-1].startswith(export.FAILED_MARK)
    assert "1200" in lines[-1]  # how many rows came before it
    assert len(lines) == 1 + 1200 + 1
    assert any("export failed" in r.getMessage() for r in caplog.records)
