"""Keys: none, malformed, unknown, wrong secret, revoked, wrong role, scope checks."""

import asyncio
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role, deps, keys
from service.auth.deps import UNKNOWN_MOST, UNKNOWN_SECONDS, KeyCache
from service.auth.models import ApiKey
from tests import factories as f
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


async def test_a_key_cached_between_the_revocation_and_its_commit_is_forgotten_after_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Revoking cleared the cache before the unit of work committed: a request that read the
    # key in between (still valid then) cached it as valid for the cache's lifetime. Here that
    # request is played by the first clear putting the cached entries back.
    cache: KeyCache = app.state.key_cache
    monkeypatch.setattr(cache, "ttl", 60.0)  # as a service runs; the tests' cache keeps nothing
    victim = await make_key("hospital", hospital_code="H990102002")
    assert (await client.get("/v1/keys", headers=victim)).status_code == 403  # known, cached
    cached = dict(cache._items)
    assert len(cached) == 1  # the victim's key
    clear, clears = cache.clear, []

    def clear_then_cached_again() -> None:
        clear()
        clears.append(1)
        if len(clears) == 1:
            cache._items.update(cached)

    monkeypatch.setattr(cache, "clear", clear_then_cached_again)
    victim_id = max(k["id"] for k in (await client.get("/v1/keys", headers=admin_headers)).json())
    revoked = await client.post(f"/v1/keys/{victim_id}/revoke", headers=admin_headers)
    assert revoked.status_code == 200
    assert len(clears) == 2
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


class CountedLookups:
    """deps.find_by_prefix, counting the prefixes it is asked for (one query each)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.prefixes: list[str] = []
        self._real = deps.find_by_prefix
        monkeypatch.setattr(deps, "find_by_prefix", self)

    async def __call__(self, session: AsyncSession, prefix: str) -> ApiKey | None:
        self.prefixes.append(prefix)
        return await self._real(session, prefix)


async def test_an_unknown_key_is_looked_up_once_in_a_few_seconds(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller sending made-up keys cost a query each; the same unknown prefix again is
    answered from memory for a few seconds (and a prefix no key can have costs none)."""
    app.state.key_cache.ttl = 60
    lookups = CountedLookups(monkeypatch)
    for token in ["sck_deadbeef_guess"] * 5 + ["sck_deadbee0_guess"] * 3:
        refused = await client.get("/v1/policies", headers={"X-API-Key": token})
        assert (refused.status_code, refused.json()["detail"]) == (401, "unknown API key")
    too_long = "sck_" + "f" * 17 + "_guess"  # longer than any stored prefix (16)
    assert (await client.get("/v1/policies", headers={"X-API-Key": too_long})).status_code == 401
    assert lookups.prefixes == ["deadbeef", "deadbee0"]


async def test_a_key_issued_after_its_prefix_was_unknown_works_at_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issuing forgets the new prefix's "unknown" in this process, so the key works at once
    rather than after the unknown prefix's few seconds."""
    app.state.key_cache.ttl = 60
    monkeypatch.setattr(keys, "new_prefix", lambda: "0badcafe")
    guessed = await client.get("/v1/policies", headers={"X-API-Key": "sck_0badcafe_guess"})
    assert guessed.status_code == 401
    created = await client.post(
        "/v1/keys", json={"role": "auditor", "region_prefix": "99"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("sck_0badcafe_")
    assert (await client.get("/v1/policies", headers={"X-API-Key": token})).status_code == 200


async def test_a_key_issued_in_the_console_after_its_prefix_was_unknown_works_at_once(
    app: FastAPI, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app.state.key_cache.ttl = 60
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        monkeypatch.setattr(keys, "new_prefix", lambda: "0badcafe")
        guessed = await browser.get("/v1/policies", headers={"X-API-Key": "sck_0badcafe_guess"})
        assert guessed.status_code == 401
        page = await browser.get("/console/keys")
        form = {"csrf": f.csrf_in(page.text), "once": f.once_in(page.text)}
        form |= {"role": "auditor", "region_prefix": "99"}
        assert (await browser.post("/console/keys", data=form)).status_code == 303
        shown = await browser.get("/console/keys")
        token = re.search(r'id="issued-token">([^<]+)<', shown.text)
        assert token is not None
        assert token.group(1).startswith("sck_0badcafe_")
        headers = {"X-API-Key": token.group(1)}
        assert (await browser.get("/v1/policies", headers=headers)).status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unknown_prefixes_are_forgotten_after_a_few_seconds_and_never_pile_up() -> None:
    clock = Clock()
    cache = KeyCache(60, clock=clock)
    cache.put("known", "hash", None)
    cache.put_unknown("gone")
    assert cache.is_unknown("gone")
    clock.now += UNKNOWN_SECONDS + 0.1
    assert not cache.is_unknown("gone")
    for n in range(UNKNOWN_MOST * 3):  # a flood of distinct made-up prefixes
        cache.put_unknown(f"{n:08x}")
    assert len(cache.unknown) == UNKNOWN_MOST
    assert cache.is_unknown(f"{UNKNOWN_MOST * 3 - 1:08x}")  # the newest are kept
    assert not cache.is_unknown("00000000")
    assert cache.get("known") == ("hash", None)  # verified keys are not pushed out
    assert not KeyCache(0, clock=clock).put_unknown("x")  # a cache of 0 s remembers nothing
