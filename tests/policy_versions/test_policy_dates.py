"""A policy version's validity is a day a county's data can have: inside the documented range
(2000-01-01 to 2099-12-31, service/dates.py), so the day before it (where its predecessor is
closed) and the day after can always be computed."""

from __future__ import annotations

import httpx
import pytest

NEW_REGION = """
region: "990104"
region_name: 演示县邻县
inherits: "990000"
name: 演示县邻县 {start}
version: "probe-{start}"
effective_from: {start}
effective_to: {end}
sources: ["test"]
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "0.00"}}
"""


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("0001-01-01", "null", "effective_from"),
        ("1900-01-01", "null", "effective_from"),
        ("9999-12-31", "null", "effective_from"),
        ("2027-01-01", "9999-12-31", "effective_to"),
    ],
)
async def test_a_version_dated_where_no_county_data_can_be_is_refused_naming_the_date(
    client: httpx.AsyncClient, admin_headers: dict[str, str], start: str, end: str, field: str
) -> None:
    # A region with no version yet: no succession rule refuses it first.
    text = NEW_REGION.format(start=start, end=end)
    response = await client.post(
        "/v1/policies", json={"source_text": text, "reason": "typo"}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["errors"][0]["field"]) == (
        "implausible_date",
        field,
    )
    listed = await client.get("/v1/policies", headers=admin_headers)
    assert "990104" not in {v["region_code"] for v in listed.json()}


async def test_a_version_inside_the_range_for_a_new_region_loads(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    text = NEW_REGION.format(start="2027-01-01", end="2099-12-31")
    response = await client.post("/v1/policies", json={"source_text": text}, headers=admin_headers)
    assert response.status_code == 201, response.text
    assert (response.json()["effective_from"], response.json()["effective_to"]) == (
        "2027-01-01",
        "2099-12-31",
    )
