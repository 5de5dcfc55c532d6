"""The directory's admin API: regions parent first, hospitals in a registered county, a PUT that
creates (201), finds it so (200, replayed) or changes it (200); reads scoped like every read."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

from service.regions import directory
from tests import factories as f
from tests.factories import NEW_COUNTY, NEW_PREFECTURE, NEW_PROVINCE, KeyFactory

NEW_HOSPITAL = "H980102001"


@pytest.fixture
async def fund_headers(make_key: KeyFactory) -> dict[str, str]:
    return await make_key("fund", fund_code="F99-BASIC", region_prefix=f.COUNTY)


async def _hospital_codes(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    answer = await client.get("/v1/hospitals", headers=headers)
    assert answer.status_code == 200
    return [h["code"] for h in answer.json()]


async def test_a_county_registers_its_regions_parent_first(
    client: httpx.AsyncClient, admin_headers: dict[str, str], hospital_headers: dict[str, str]
) -> None:
    early = await client.put(
        f"/v1/regions/{NEW_COUNTY}", json=f.region_body(NEW_COUNTY), headers=admin_headers
    )
    assert (early.status_code, early.json()["code"]) == (404, "region_not_found")
    assert early.json()["errors"][0]["field"] == "parent_code"
    statuses = await f.register_regions(
        client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE, NEW_COUNTY
    )
    assert statuses == [201, 201, 201]
    listed = await client.get("/v1/regions", params={"region": "98"}, headers=hospital_headers)
    assert [(r["code"], r["level"], r["parent_code"]) for r in listed.json()] == [
        (NEW_PROVINCE, "province", None),
        (NEW_PREFECTURE, "prefecture", NEW_PROVINCE),
        (NEW_COUNTY, "county", NEW_PREFECTURE),
    ]
    assert len((await client.get("/v1/regions", headers=hospital_headers)).json()) == 8

    again = await client.put(
        f"/v1/regions/{NEW_COUNTY}", json=f.region_body(NEW_COUNTY), headers=admin_headers
    )
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    renamed = await client.put(
        f"/v1/regions/{NEW_COUNTY}",
        json=f.region_body(NEW_COUNTY, name="新县"),
        headers=admin_headers,
    )
    assert (renamed.status_code, renamed.headers.get("Idempotent-Replayed")) == (200, None)
    listed = await client.get("/v1/regions", params={"region": NEW_COUNTY}, headers=admin_headers)
    assert [r["name"] for r in listed.json()] == ["新县"]


@pytest.mark.parametrize(
    ("code", "overrides", "problem", "field"),
    [
        (NEW_COUNTY, {"level": "province", "parent_code": None}, "region_level_mismatch", "level"),
        (NEW_PREFECTURE, {"level": "county"}, "region_level_mismatch", "level"),
        (NEW_PROVINCE, {"level": "prefecture"}, "region_level_mismatch", "level"),
        (NEW_COUNTY, {"parent_code": NEW_PROVINCE}, "region_parent_mismatch", "parent_code"),
        (NEW_COUNTY, {"parent_code": None}, "region_parent_mismatch", "parent_code"),
        (NEW_COUNTY, {"parent_code": "990100"}, "region_parent_mismatch", "parent_code"),
        (NEW_PROVINCE, {"parent_code": "990000"}, "region_parent_mismatch", "parent_code"),
        (NEW_COUNTY, {"level": "district"}, "validation_error", "level"),
        (NEW_COUNTY, {"parent_code": "9801"}, "validation_error", "parent_code"),
        ("98010", {}, "validation_error", "region_code"),
        ("98010a", {}, "validation_error", "region_code"),
        ("9801022", {}, "validation_error", "region_code"),
        (NEW_COUNTY, {"name": "  "}, "validation_error", "name"),
        (NEW_COUNTY, {"name": "演示\u202e县"}, "validation_error", "name"),
        (NEW_COUNTY, {"name": "演示\n县"}, "validation_error", "name"),
    ],
)
async def test_a_region_must_fit_its_code(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    code: str,
    overrides: dict[str, Any],
    problem: str,
    field: str,
) -> None:
    await f.register_regions(client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE)
    body = {**f.region_body(NEW_COUNTY if len(code) != 6 else code), **overrides}
    refused = await client.put(f"/v1/regions/{code}", json=body, headers=admin_headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == problem
    assert refused.json()["errors"][0]["field"] == field
    listed = await client.get("/v1/regions", params={"region": "98"}, headers=admin_headers)
    assert [r["code"] for r in listed.json()] == [NEW_PROVINCE, NEW_PREFECTURE]


async def test_a_hospital_is_registered_replayed_and_changed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await f.register_regions(client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE, NEW_COUNTY)
    url = f"/v1/hospitals/{NEW_HOSPITAL}"
    made = await client.put(url, json=f.hospital_body(), headers=admin_headers)
    assert made.status_code == 201
    assert made.json() == {"code": NEW_HOSPITAL, **f.hospital_body()}
    again = await client.put(url, json=f.hospital_body(), headers=admin_headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert again.json() == made.json()
    changed = await client.put(
        url, json=f.hospital_body(designated=False, level="tertiary"), headers=admin_headers
    )
    assert (changed.status_code, changed.headers.get("Idempotent-Replayed")) == (200, None)
    read = (await client.get(url, headers=admin_headers)).json()
    assert (read["designated"], read["level"], read["tier"]) == (False, "tertiary", "county")
    key = await client.post(
        "/v1/keys", json={"role": "hospital", "hospital_code": NEW_HOSPITAL}, headers=admin_headers
    )
    assert key.status_code == 201


@pytest.mark.parametrize(
    ("county", "status", "problem"),
    [
        ("980199", 404, "region_not_found"),
        (NEW_PREFECTURE, 422, "region_not_county"),
        (NEW_PROVINCE, 422, "region_not_county"),
        ("98010", 422, "validation_error"),
    ],
)
async def test_a_hospital_lies_in_a_registered_county(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    county: str,
    status: int,
    problem: str,
) -> None:
    await f.register_regions(client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE, NEW_COUNTY)
    refused = await client.put(
        f"/v1/hospitals/{NEW_HOSPITAL}",
        json=f.hospital_body(county_code=county),
        headers=admin_headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (status, problem)
    assert refused.json()["errors"][0]["field"].endswith("county_code")
    gone = await client.get(f"/v1/hospitals/{NEW_HOSPITAL}", headers=admin_headers)
    assert gone.status_code == 404


async def test_a_hospital_with_admissions_keeps_its_county(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = f.resident_id(seq=301)
    f.person_route(registry, id_number).respond(200, json=f.registry_person())
    admitted = await client.post(
        "/v1/admissions", json=f.admission_request(id_number=id_number), headers=hospital_headers
    )
    assert admitted.status_code == 201, admitted.text
    url = f"/v1/hospitals/{f.COUNTY_HOSPITAL}"
    current = (await client.get(url, headers=admin_headers)).json()
    body = {k: v for k, v in current.items() if k != "code"}
    moved = await client.put(
        url, json={**body, "county_code": f.NEIGHBOUR_COUNTY}, headers=admin_headers
    )
    assert (moved.status_code, moved.json()["code"]) == (409, "hospital_in_use")
    assert moved.json()["errors"][0]["field"] == "county_code"
    assert (await client.get(url, headers=admin_headers)).json() == current
    renamed = await client.put(
        url, json={**body, "name": "演示县第一人民医院"}, headers=admin_headers
    )
    assert renamed.status_code == 200
    # A hospital without admissions may still move.
    township = f"/v1/hospitals/{f.TOWNSHIP_HOSPITAL}"
    unused = (await client.get(township, headers=admin_headers)).json()
    unused.pop("code")
    moved = await client.put(
        township, json={**unused, "county_code": f.NEIGHBOUR_COUNTY}, headers=admin_headers
    )
    assert (moved.status_code, moved.json()["county_code"]) == (200, f.NEIGHBOUR_COUNTY)


async def test_a_change_reaches_admissions_once_the_directory_ttl_has_passed(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def admit(seq: int) -> dict[str, Any]:
        id_number = f.resident_id(seq=seq)
        f.person_route(registry, id_number).respond(200, json=f.registry_person())
        body = f.admission_request(id_number=id_number, visit_id=f"V-TTL-{seq}")
        answer = await client.post("/v1/admissions", json=body, headers=hospital_headers)
        assert answer.status_code == 201, answer.text
        return dict(answer.json()["pay_after_treatment"])

    assert (await admit(311))["eligible"] is True  # the directory now holds the hospital
    url = f"/v1/hospitals/{f.COUNTY_HOSPITAL}"
    body = (await client.get(url, headers=admin_headers)).json()
    body.pop("code")
    changed = await client.put(url, json={**body, "designated": False}, headers=admin_headers)
    assert changed.status_code == 200
    assert (await admit(312))["eligible"] is True  # within the TTL: the cached entry
    ttl = app.state.hospitals.ttl_seconds
    later = directory.time.monotonic() + ttl
    monkeypatch.setattr(directory.time, "monotonic", lambda: later)
    after = await admit(313)
    assert (after["eligible"], after["reasons"][0]) == (False, "NOT_DESIGNATED")


@pytest.mark.parametrize("role", ["auditor", "fund", "hospital"])
async def test_only_an_admin_writes_the_directory(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    auditor_headers: dict[str, str],
    fund_headers: dict[str, str],
    hospital_headers: dict[str, str],
    role: str,
) -> None:
    headers = {"auditor": auditor_headers, "fund": fund_headers, "hospital": hospital_headers}
    caller = headers[role]
    region = await client.put(
        f"/v1/regions/{NEW_PROVINCE}", json=f.region_body(NEW_PROVINCE), headers=caller
    )
    demo = f"/v1/hospitals/{f.COUNTY_HOSPITAL}"
    hospital = await client.put(
        demo, json=f.hospital_body(county_code=f.COUNTY, designated=False), headers=caller
    )
    assert (region.status_code, region.json()["code"]) == (403, "forbidden")
    assert (hospital.status_code, hospital.json()["code"]) == (403, "forbidden")
    regions = await client.get("/v1/regions", params={"region": "98"}, headers=admin_headers)
    assert regions.json() == []
    assert (await client.get(demo, headers=admin_headers)).json()["designated"] is True


async def test_each_role_reads_the_hospitals_it_may_see(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    admin_headers: dict[str, str],
    fund_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    city = await make_key("auditor", region_prefix="9901")
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    demo_county = [f.TOWNSHIP_HOSPITAL, f.COUNTY_HOSPITAL, f.UNDESIGNATED_HOSPITAL]
    everyone = sorted([*demo_county, f.NEIGHBOUR_HOSPITAL, f.CITY_HOSPITAL, f.PROVINCE_HOSPITAL])
    assert await _hospital_codes(client, admin_headers) == everyone
    assert await _hospital_codes(client, city) == everyone
    assert await _hospital_codes(client, neighbour) == [f.NEIGHBOUR_HOSPITAL]
    assert await _hospital_codes(client, fund_headers) == demo_county
    assert await _hospital_codes(client, hospital_headers) == [f.COUNTY_HOSPITAL]
    narrowed = await client.get("/v1/hospitals", params={"region": "990101"}, headers=city)
    assert [h["code"] for h in narrowed.json()] == [f.CITY_HOSPITAL, f.PROVINCE_HOSPITAL]

    other = f"/v1/hospitals/{f.NEIGHBOUR_HOSPITAL}"
    for headers in (hospital_headers, fund_headers):
        hidden = await client.get(other, headers=headers)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "hospital_not_found")
    own = await client.get(f"/v1/hospitals/{f.COUNTY_HOSPITAL}", headers=hospital_headers)
    assert own.json()["county_code"] == f.COUNTY
    assert (await client.get(other, headers=neighbour)).status_code == 200
    missing = await client.get("/v1/hospitals/H999999999", headers=admin_headers)
    assert missing.status_code == 404
    assert (await client.get("/v1/hospitals")).status_code == 401


@pytest.mark.parametrize(
    "hostile",
    [
        {"surprise": 1},
        {"name": "医" * 5000},
        {"name": "新县\x00医院"},
        {"name": "新县\n医院"},
        {"name": ""},
        {"name": f"医院{f.resident_id()}"},
    ],
    ids=["extra-field", "5000-char-name", "nul", "newline", "empty", "resident-id"],
)
async def test_a_hostile_body_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], hostile: dict[str, Any]
) -> None:
    await f.register_regions(client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE)
    region = await client.put(
        f"/v1/regions/{NEW_COUNTY}",
        json={**f.region_body(NEW_COUNTY), **hostile},
        headers=admin_headers,
    )
    hospital = await client.put(
        f"/v1/hospitals/{f.COUNTY_HOSPITAL}",
        json={**f.hospital_body(county_code=f.COUNTY), **hostile},
        headers=admin_headers,
    )
    assert (region.status_code, hospital.status_code) == (422, 422)
    assert "\x00" not in region.text + hospital.text
    listed = await client.get("/v1/regions", params={"region": "98"}, headers=admin_headers)
    assert [r["code"] for r in listed.json()] == [NEW_PROVINCE, NEW_PREFECTURE]
    demo = await client.get(f"/v1/hospitals/{f.COUNTY_HOSPITAL}", headers=admin_headers)
    assert demo.json()["name"] == "演示县人民医院"


async def test_two_changes_at_once_store_one_of_the_bodies_sent(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Two PUTs of one hospital at once, each changing another field (races show on
    PostgreSQL): the second is judged against what the first stored, so the hospital ends as
    one of the bodies sent, never a mix of the two, and the last answer shows it."""
    await f.register_regions(client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE, NEW_COUNTY)
    renamed = f.hospital_body(name="新县第一人民医院")
    upgraded = f.hospital_body(level="tertiary")
    for n in range(10):
        url = f"/v1/hospitals/H{NEW_COUNTY}{n:03d}"
        assert (
            await client.put(url, json=f.hospital_body(), headers=admin_headers)
        ).status_code == 201
        answers = await asyncio.gather(
            *(client.put(url, json=body, headers=admin_headers) for body in (renamed, upgraded))
        )
        assert [a.status_code for a in answers] == [200, 200]
        stored = (await client.get(url, headers=admin_headers)).json()
        sent = {k: stored[k] for k in renamed}
        assert sent in (renamed, upgraded), (n, sent)
        assert stored in [a.json() for a in answers], n


@pytest.mark.postgres
async def test_two_first_puts_at_once_store_one_hospital(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await f.register_regions(client, admin_headers, NEW_PROVINCE, NEW_PREFECTURE, NEW_COUNTY)
    url = f"/v1/hospitals/{NEW_HOSPITAL}"
    answers = await asyncio.gather(
        *(client.put(url, json=f.hospital_body(), headers=admin_headers) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert {a.json()["code"] for a in answers} == {NEW_HOSPITAL}
    assert await _hospital_codes(client, admin_headers) == sorted([
        f.TOWNSHIP_HOSPITAL, f.COUNTY_HOSPITAL, f.UNDESIGNATED_HOSPITAL, f.NEIGHBOUR_HOSPITAL,
        f.CITY_HOSPITAL, f.PROVINCE_HOSPITAL, NEW_HOSPITAL,
    ])  # fmt: skip


@pytest.mark.parametrize("code", ["000000", "000100", "100000", "160102", "720000", "830000"])
async def test_a_region_code_must_lie_in_a_province_of_gb_t_2260(
    client: httpx.AsyncClient, admin_headers: dict[str, str], code: str
) -> None:
    refused = await client.put(
        f"/v1/regions/{code}", json=f.region_body(code), headers=admin_headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "region_code_unknown"
    assert refused.json()["errors"][0]["field"] == "region_code"
    listed = await client.get("/v1/regions", params={"region": code[:2]}, headers=admin_headers)
    assert listed.json() == []


async def test_the_made_up_provinces_of_the_demo_are_refused_in_production(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"environment": "production"})
    try:
        made_up = await client.put(
            "/v1/regions/970000", json=f.region_body("970000"), headers=admin_headers
        )
        real = await client.put(
            "/v1/regions/820000", json=f.region_body("820000"), headers=admin_headers
        )
    finally:
        app.state.settings = settings
    assert (made_up.status_code, made_up.json()["code"]) == (422, "region_code_unknown")
    assert real.status_code == 201, real.text
    allowed = await client.put(
        "/v1/regions/970000", json=f.region_body("970000"), headers=admin_headers
    )
    assert allowed.status_code == 201  # outside production, where the demo lives
