"""The console's date filters take the API's range: an extreme day is a 422, never a 500."""

from __future__ import annotations

import base64
import json

import httpx
import pytest


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/console/violations", "detected_from"),
        ("/console/violations/export.csv", "detected_to"),
        ("/console/scoreboard", "from"),
        ("/console/scoreboard/export.xlsx", "to"),
        ("/console/indicators", "to"),
        ("/console/trends", "until"),
    ],
)
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31"])
async def test_an_extreme_day_in_a_console_filter_is_a_422(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], path: str, name: str, day: str
) -> None:
    login = await client.post("/console/login", data={"api_key": auditor_headers["X-API-Key"]})
    assert login.status_code == 303
    response = await client.get(path, params={name: day})
    assert response.status_code == 422, response.text[:500]


async def test_a_forged_cursor_in_the_ledger_page_is_a_422_page(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    login = await client.post("/console/login", data={"api_key": auditor_headers["X-API-Key"]})
    assert login.status_code == 303
    forged = {"t": "0001-01-01T00:00:00+14:00", "i": 1, "s": "desc"}
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    response = await client.get("/console/violations", params={"cursor": cursor})
    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
