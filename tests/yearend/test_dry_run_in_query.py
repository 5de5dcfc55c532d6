"""A dry run asked for in the query string (where the API does not read it) books nothing:
the run is refused; the dry run asked for in the body answers the figure and books nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.factories import KeyFactory

PREFECTURE = factories.S7_PREFECTURE


async def test_dry_run_in_the_query_is_refused_and_books_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: Callable[[], Awaitable[dict[str, str]]],
    make_key: KeyFactory,
) -> None:
    await factories.s7_year(client, session, await hospital_key())
    auditor = await make_key("auditor", region_prefix="32")
    body = {"region_code": PREFECTURE, "plan_year": 2025}

    refused = await client.post("/v1/year-end/runs?dry_run=true", json=body, headers=auditor)

    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"] == [
        {
            "field": "dry_run",
            "message": "Extra inputs are not permitted",
            "code": "extra_forbidden",
        }
    ]
    booked = await client.get(
        "/v1/year-end/payments",
        params={"region_code": PREFECTURE, "plan_year": 2025},
        headers=auditor,
    )
    assert booked.status_code == 200, booked.text
    assert booked.json()["payments"] == []
    tried = await client.post("/v1/year-end/runs", json={**body, "dry_run": True}, headers=auditor)
    assert (tried.json()["dry_run"], tried.json()["booked_now"]) == (True, "1303.06")
    again = await client.get(
        "/v1/year-end/payments",
        params={"region_code": PREFECTURE, "plan_year": 2025},
        headers=auditor,
    )
    assert again.json()["payments"] == []
