"""Policy versions in the running service: admins load, everyone lists, the catalog selects."""

from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.policy_versions.errors import NoPolicyInForce

NEW_VERSION = """
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 2025 调整
version: "demo-2025.1-county"
effective_from: 2025-01-01
effective_to: null
sources: ["test"]
layers:
  - code: basic_insurance
    deductible_by_level: {primary: "0.00"}
"""


async def test_every_shipped_version_is_listed_with_its_hash(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.get("/v1/policies", headers=hospital_headers)
    assert response.status_code == 200
    regions = {v["region_code"] for v in response.json()}
    assert {"990000", "990102", "500112", "420000", "340000", "511800"} <= regions
    assert all(len(v["content_hash"]) == 64 for v in response.json())


async def test_a_hospital_cannot_load_a_policy(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/policies", json={"source_text": NEW_VERSION}, headers=hospital_headers
    )
    assert response.status_code == 403


async def test_a_version_starting_inside_a_dated_one_succeeds_it_too(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI, session: AsyncSession
) -> None:
    catalog = app.state.policies
    before = await catalog.for_region(session, insured_region="990102", on=date(2025, 3, 1))
    await session.commit()  # on SQLite an open transaction holds the write lock
    # Not only open-ended versions are succeeded (test_succession.py): one whose own text ends
    # after the new one starts is closed the day before it too.
    closed = NEW_VERSION.replace("effective_to: null", "effective_to: 2025-12-31")
    first = await client.post("/v1/policies", json={"source_text": closed}, headers=admin_headers)
    assert first.status_code == 201, first.text
    overlapping = NEW_VERSION.replace("2025-01-01", "2025-06-01").replace("2025.1", "2025.2")
    response = await client.post(
        "/v1/policies", json={"source_text": overlapping}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    assert before.region_code == "990102"
    listed = await client.get("/v1/policies", params={"region": "990102"}, headers=admin_headers)
    windows = [(v["effective_from"], v["effective_to"]) for v in listed.json()]
    assert windows[-2:] == [("2025-01-01", "2025-05-31"), ("2025-06-01", None)]


async def test_a_broken_policy_names_the_line_and_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    broken = NEW_VERSION.replace('deductible_by_level: {primary: "0.00"}', "ratio: 1.7")
    broken = broken.replace("2025-01-01", "2030-01-01").replace("990102", "990103")
    response = await client.post(
        "/v1/policies", json={"source_text": broken}, headers=admin_headers
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any("ratio" in e["field"] and "line" in e["message"] for e in errors)


async def test_loading_the_same_text_twice_is_a_no_op(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    text = NEW_VERSION.replace("990102", "990103").replace("演示县", "邻县")
    first = await client.post("/v1/policies", json={"source_text": text}, headers=admin_headers)
    again = await client.post("/v1/policies", json={"source_text": text}, headers=admin_headers)
    assert first.status_code == 201
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert first.json()["content_hash"] == again.json()["content_hash"]
    detail = await client.get(f"/v1/policies/{first.json()['content_hash']}", headers=admin_headers)
    assert detail.json()["source_text"] == text


async def test_the_county_version_wins_over_the_province(
    app: FastAPI, session: AsyncSession
) -> None:
    catalog = app.state.policies
    county = await catalog.for_region(session, insured_region="990102", on=date(2024, 6, 1))
    other = await catalog.for_region(session, insured_region="990101", on=date(2024, 6, 1))
    assert county.region_code == "990102"
    assert other.region_code == "990000"


async def test_no_policy_in_force_is_a_clear_error(app: FastAPI, session: AsyncSession) -> None:
    catalog = app.state.policies
    with pytest.raises(NoPolicyInForce) as exc:
        await catalog.for_region(session, insured_region="650102", on=date(2024, 6, 1))
    assert exc.value.code == "no_policy_in_force"
    assert "650102" in exc.value.detail


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [("name: 演示县 2025 调整", "name: " + "县" * 201, "name"), ("2025.1", "v" * 65, "version")],
)
async def test_a_name_or_version_longer_than_the_register_keeps_is_a_422_naming_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], old: str, new: str, field: str
) -> None:
    assert old in NEW_VERSION
    text = NEW_VERSION.replace(old, new)

    answer = await client.post("/v1/policies", json={"source_text": text}, headers=admin_headers)

    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"][0]["field"]
    listed = await client.get("/v1/policies/history", headers=admin_headers)
    assert new not in listed.text
