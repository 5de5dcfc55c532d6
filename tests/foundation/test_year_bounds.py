"""Every year a request names is one of the years whose days it may name (2000-2099,
service.dates): the same bound for the receivables' indicators and the what-if."""

from __future__ import annotations

import httpx
import pytest

from service.dates import FILTER_FIRST_DAY, FILTER_LAST_DAY


@pytest.mark.parametrize("year", [FILTER_FIRST_DAY.year - 1, FILTER_LAST_DAY.year + 1, 2999])
async def test_a_year_outside_the_days_is_refused_by_name(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], year: int
) -> None:
    indicators = await client.get(
        "/v1/receivables/indicators", params={"year": year}, headers=auditor_headers
    )
    what_if = await client.post(
        "/v1/policies/whatif",
        json={"source_text": "region: '990102'", "over": year},
        headers=auditor_headers,
    )
    for answer, field in ((indicators, "year"), (what_if, "over")):
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field], answer.text


async def test_the_last_year_of_the_days_is_taken(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    answer = await client.get(
        "/v1/receivables/indicators",
        params={"year": FILTER_LAST_DAY.year},
        headers=auditor_headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["year"] == FILTER_LAST_DAY.year
