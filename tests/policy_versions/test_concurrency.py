"""Policy versions written at once (races show on PostgreSQL, READ COMMITTED): the same
document twice stores it once and answers the twin with the version stored; a load and a
withdrawal of the version it succeeds are judged one after the other, never leaving two open
versions of one region."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import httpx

from tests.factories import county_text

ROUNDS = 10


def _load(
    client: httpx.AsyncClient, headers: dict[str, str], start: str
) -> Awaitable[httpx.Response]:
    body = {"source_text": county_text(start), "reason": "年度政策"}
    return client.post("/v1/policies", json=body, headers=headers)


async def _windows(client: httpx.AsyncClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    answer = await client.get("/v1/policies", params={"region": "990102"}, headers=headers)
    return [
        (v["effective_from"], v["effective_to"])
        for v in answer.json()
        if v["region_code"] == "990102"
    ]


async def test_the_same_document_twice_at_once_is_stored_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for n in range(ROUNDS):
        start = f"{2030 + n}-01-01"
        twins = await asyncio.gather(*(_load(client, admin_headers, start) for _ in range(2)))
        assert [t.status_code for t in twins] == [201, 201], [t.text for t in twins]
        assert sorted(t.headers.get("Idempotent-Replayed", "") for t in twins) == ["", "true"]
        assert twins[0].json() == twins[1].json()
    windows = await _windows(client, admin_headers)
    assert [start for start, _ in windows][1:] == [f"{2030 + n}-01-01" for n in range(ROUNDS)]


async def test_a_load_and_a_withdrawal_at_once_leave_one_timeline(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    [(since, _)] = await _windows(client, admin_headers)
    for n in range(ROUNDS):
        first = await _load(client, admin_headers, f"{2040 + n}-01-01")
        assert first.status_code == 201, first.text
        loaded, withdrawn = await asyncio.gather(
            _load(client, admin_headers, f"{2040 + n}-06-01"),
            client.post(
                f"/v1/policies/{first.json()['content_hash']}/withdrawal",
                json={"reason": "重新起草"},
                headers=admin_headers,
            ),
        )
        # Either order ends alike: the shipped version runs until the new one begins.
        assert (loaded.status_code, withdrawn.status_code) == (201, 200), loaded.text
        assert await _windows(client, admin_headers) == [
            (since, f"{2040 + n}-05-31"),
            (f"{2040 + n}-06-01", None),
        ], n
        response = await client.post(
            f"/v1/policies/{loaded.json()['content_hash']}/withdrawal",
            json={"reason": "还原"},
            headers=admin_headers,
        )
        assert response.status_code == 200, response.text
        assert await _windows(client, admin_headers) == [(since, None)]
