"""Keys: none, malformed, unknown, wrong secret, revoked, wrong role, scope checks."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from service.auth import Principal, Role
from tests.factories import KeyFactory


async def test_no_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/keys")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize("token", ["nonsense", "sck_abcd1234_wrongsecret", "sck__x"])
async def test_a_bad_key_is_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/v1/keys", headers={"X-API-Key": token})
    assert response.status_code == 401


async def test_a_right_prefix_with_a_wrong_secret_is_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    prefix = admin_headers["X-API-Key"].split("_")[1]
    response = await client.get("/v1/keys", headers={"X-API-Key": f"sck_{prefix}_guess"})
    assert response.status_code == 401


async def test_a_bearer_token_works_too(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    token = admin_headers["X-API-Key"]
    response = await client.get("/v1/keys", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_two_revocations_at_once_answer_the_one_stored(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A double click (twins at once, PostgreSQL READ COMMITTED): revoked once, and both
    answers carry the revocation time that was stored."""
    for n in range(10):
        body = {"role": "auditor", "region_prefix": "99", "label": f"twin-{n}"}
        made = await client.post("/v1/keys", json=body, headers=admin_headers)
        url = f"/v1/keys/{made.json()['id']}/revoke"
        twins = await asyncio.gather(*(client.post(url, headers=admin_headers) for _ in range(2)))
        assert [t.status_code for t in twins] == [200, 200]
        listed = await client.get("/v1/keys", headers=admin_headers)
        [stored] = [k for k in listed.json() if k["id"] == made.json()["id"]]
        assert [t.json()["revoked_at"] for t in twins] == [stored["revoked_at"]] * 2, n


async def test_a_revoked_key_is_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_key: KeyFactory
) -> None:
    victim = await make_key("hospital", hospital_code="H990102002")
    keys = (await client.get("/v1/keys", headers=admin_headers)).json()
    victim_id = max(k["id"] for k in keys)
    revoked = await client.post(f"/v1/keys/{victim_id}/revoke", headers=admin_headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = await client.get("/v1/keys", headers=victim)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


async def test_the_wrong_role_is_403(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.get("/v1/keys", headers=hospital_headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_an_admin_issues_a_key_that_works_once_shown(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/keys", json={"role": "auditor", "region_prefix": "9901"}, headers=admin_headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    listed = await client.get("/v1/keys", headers=admin_headers)
    assert token not in listed.text
    assert (await client.get("/v1/keys", headers={"X-API-Key": token})).status_code == 403


async def test_a_hospital_key_needs_a_hospital(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post("/v1/keys", json={"role": "hospital"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "hospital_code"


def test_scope_rules() -> None:
    hospital = Principal(key_id=1, role=Role.HOSPITAL, hospital_code="H1")
    auditor = Principal(key_id=2, role=Role.AUDITOR, region_prefix="9901")
    admin = Principal(key_id=3, role=Role.ADMIN)
    assert hospital.sees_hospital("H1", "990102")
    assert not hospital.sees_hospital("H2", "990102")
    assert auditor.sees_hospital("H2", "990102")
    assert not auditor.sees_hospital("H3", "990201")
    assert not auditor.sees_region("99")
    assert auditor.sees_region("990103")
    assert admin.sees_hospital("anything", "110000")
    assert not hospital.sees_region("990102")


async def test_a_route_with_two_key_dependencies_counts_one_request_against_the_limit(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Reversing a settlement takes the hospital's principal and its code, two dependencies
    that each check the key: the second finds the first's principal, so the key's rate limit
    sees one request, not two (ADR 0020). (The admission routes take both as one dependency,
    `HospitalCallerDep`.)"""
    limiter = app.state.rate_limiter
    hits: list[int] = []
    counted = limiter.hit

    async def hit(key_id: int) -> None:
        hits.append(key_id)
        await counted(key_id)

    limiter.hit = hit
    response = await client.post(
        "/v1/settlements/999999/reversal", json={"reason": "重复结算"}, headers=hospital_headers
    )
    assert response.status_code == 404, response.text
    assert len(hits) == 1


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        (
            {"role": "auditor", "region_prefix": "99", "hospital_code": "H990102002"},
            "hospital_code",
            "only a hospital key has a hospital code",
        ),
        (
            {"role": "hospital", "hospital_code": "H990102002", "region_prefix": "11"},
            "region_prefix",
            "not a region prefix",
        ),
        ({"role": "fund", "fund_code": "F99-BASIC"}, "region_prefix", "a fund key needs"),
    ],
)
async def test_a_key_scope_that_would_be_dropped_or_is_missing_is_refused_naming_it(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    body: dict[str, str],
    field: str,
    said: str,
) -> None:
    answer = await client.post("/v1/keys", json=body, headers=admin_headers)

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_key_scope"
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert said in answer.json()["detail"]
    listed = await client.get("/v1/keys", headers=admin_headers)
    assert [k["role"] for k in listed.json()] == ["admin"]
