"""Per-key rate limits: 429 with Retry-After past the limit, counted per key, shared through
Redis when it is configured, and never an error when Redis is down (each process then counts on
its own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.auth import deps
from service.cache import MemoryCache
from service.db import DatabaseUnavailable
from service.errors import RateLimited
from service.ratelimit import KeyRateLimiter, retry_after_seconds
from service.settings import Settings
from tests.factories import REDIS_URL, KeyFactory, make_settings

LIMIT = 3


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, rate_limit_per_minute=LIMIT)


async def _spend(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[int]:
    return [(await client.get("/v1/policies", headers=headers)).status_code for _ in range(n)]


async def test_past_the_limit_a_key_gets_429_with_retry_after(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    assert await _spend(client, hospital_headers, LIMIT) == [200] * LIMIT
    response = await client.get("/v1/policies", headers=hospital_headers)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_the_limit_is_per_key_not_global(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], make_key: KeyFactory
) -> None:
    other = await make_key("hospital", hospital_code="H990102002")
    await _spend(client, hospital_headers, LIMIT + 2)
    assert (await client.get("/v1/policies", headers=hospital_headers)).status_code == 429
    assert await _spend(client, other, LIMIT) == [200] * LIMIT


async def test_unauthenticated_and_health_requests_are_not_counted(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    for _ in range(LIMIT * 2):
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/v1/policies")).status_code == 401
    assert await _spend(client, hospital_headers, LIMIT) == [200] * LIMIT


async def test_redis_down_costs_no_request_under_the_limit_and_still_limits(
    database_url: str,
) -> None:
    settings = make_settings(
        database_url, redis_url="redis://127.0.0.1:1/0", rate_limit_per_minute=LIMIT
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        from tests import factories

        await factories.seed_regions(app.state.sessionmaker)
        headers = await _issue(app)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            codes = await _spend(client, headers, LIMIT * 3)
    # The process's own count holds the limit while the shared count is unknown.
    assert codes == [200] * LIMIT + [429] * (LIMIT * 2)


@pytest.mark.redis
async def test_with_redis_the_count_is_shared_by_replicas(app: FastAPI, database_url: str) -> None:
    assert REDIS_URL is not None
    assert app.state.cache.backend == "redis"
    headers = await _issue(app)
    second = create_app(make_settings(database_url, rate_limit_per_minute=LIMIT))
    async with second.router.lifespan_context(second):
        codes = []
        for replica in (app, second, app, second):
            transport = httpx.ASGITransport(app=replica, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                codes.append((await client.get("/v1/policies", headers=headers)).status_code)
    assert codes == [200, 200, 200, 429]


async def test_a_zero_limit_turns_limiting_off() -> None:
    cache = MemoryCache()
    limiter = KeyRateLimiter(cache, per_minute=0)
    for _ in range(50):
        await limiter.hit(1)
    assert await cache.hit_window("ratelimit:key:1", 60) == 1


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def hit_window(self, key: str, window_seconds: int, hits: int = 1) -> int | None:
        self.calls += 1
        return await super().hit_window(key, window_seconds, hits)


async def test_a_busy_key_adds_to_the_shared_count_once_per_step() -> None:
    cache = CountingCache()
    limiter = KeyRateLimiter(cache, per_minute=6000)
    assert limiter.step == 6
    for _ in range(60):
        await limiter.hit(7)
    assert cache.calls == 10
    assert await cache.hit_window("ratelimit:key:7", 60, hits=0) == 60


async def test_a_process_lets_at_most_a_step_less_one_past_the_shared_limit() -> None:
    cache = MemoryCache()
    await cache.hit_window("ratelimit:key:7", 60, hits=6000)  # spent at the other replicas
    limiter = KeyRateLimiter(cache, per_minute=6000)
    for _ in range(limiter.step - 1):
        await limiter.hit(7)  # not yet added to the shared count, so not yet seen
    with pytest.raises(RateLimited):
        await limiter.hit(7)


@pytest.mark.parametrize(
    ("now", "expected"), [(0.0, 60), (59.2, 1), (61.5, 59), (119.999, 1), (3600.0, 60)]
)
def test_retry_after_counts_to_the_end_of_the_window(now: float, expected: int) -> None:
    assert retry_after_seconds(now) == expected


async def _issue(app: FastAPI) -> dict[str, str]:
    from service.auth import Role
    from service.auth.keys import issue_key

    async with app.state.sessionmaker() as s:
        issued = await issue_key(s, role=Role.HOSPITAL, hospital_code="H990102002")
        await s.commit()
    return {"X-API-Key": issued.token}


async def test_the_console_spends_the_keys_budget_too(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # A console session was never counted: exports, what-if and verify runs without a limit.
    origin = {"Origin": str(client.base_url).rstrip("/")}
    login = await client.post(
        "/console/login", data={"api_key": hospital_headers["X-API-Key"]}, headers=origin
    )
    assert login.status_code == 303
    # The sign-in is the key's first request of the window (ADR 0006, the console's sign-in).
    pages = [(await client.get("/console/violations")).status_code for _ in range(LIMIT - 1)]
    assert pages == [200] * (LIMIT - 1)
    refused = await client.get("/console/violations/export.csv")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert (await client.get("/v1/policies", headers=hospital_headers)).status_code == 429


class DownCache(MemoryCache):
    """A Redis that stops answering mid-window, and answers again later."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def hit_window(self, key: str, window_seconds: int, hits: int = 1) -> int | None:
        if self.down:
            return None
        return await super().hit_window(key, window_seconds, hits)


async def test_hits_counted_while_redis_was_down_reach_the_shared_count_when_it_is_back() -> None:
    cache = DownCache()
    limiter = KeyRateLimiter(cache, per_minute=10)
    for _ in range(4):
        await limiter.hit(3)
    cache.down = True
    for _ in range(6):
        await limiter.hit(3)  # 10 in all: at the limit, not past it
    with pytest.raises(RateLimited):
        await limiter.hit(3)
    cache.down = False
    with pytest.raises(RateLimited):
        await limiter.hit(3)
    assert await cache.hit_window("ratelimit:key:3", 60, hits=0) == 12


class RoundTripCache(MemoryCache):
    """A shared count that takes a round trip to answer, as Redis does: requests of one process
    arrive while an earlier one waits for its count."""

    async def hit_window(self, key: str, window_seconds: int, hits: int = 1) -> int | None:
        await asyncio.sleep(0)
        return await super().hit_window(key, window_seconds, hits)


async def test_concurrent_requests_of_one_process_are_each_counted_once() -> None:
    # Each request waiting for the shared count added every hit still pending again: 50 at once
    # counted 1 + 2 + ... + 50 = 1275, and a key far under its limit was refused (429).
    cache = RoundTripCache()
    limiter = KeyRateLimiter(cache, per_minute=100)
    outcomes = await asyncio.gather(*(limiter.hit(5) for _ in range(50)), return_exceptions=True)
    assert [o for o in outcomes if o is not None] == []
    assert await cache.hit_window("ratelimit:key:5", 60, hits=0) == 50


@pytest.mark.redis
async def test_a_burst_at_two_replicas_is_counted_once_in_redis() -> None:
    assert REDIS_URL is not None
    from service.cache import RedisCache

    replicas = [RedisCache(REDIS_URL, timeout_seconds=1.0) for _ in range(2)]
    limiters = [KeyRateLimiter(cache, per_minute=100) for cache in replicas]
    key_id = 900_000 + int(time.time() * 1000) % 100_000
    if retry_after_seconds(time.time()) <= 2:  # one window for the whole burst
        await asyncio.sleep(retry_after_seconds(time.time()))
    try:
        outcomes = await asyncio.gather(
            *(limiter.hit(key_id) for limiter in limiters for _ in range(40)),
            return_exceptions=True,
        )
        assert [o for o in outcomes if o is not None] == []
        assert await replicas[0].hit_window(f"ratelimit:key:{key_id}", 60, hits=0) == 80
        refused = await asyncio.gather(
            *(limiter.hit(key_id) for limiter in limiters for _ in range(20)),
            return_exceptions=True,
        )
        assert sum(isinstance(o, RateLimited) for o in refused) == 20
    finally:
        for cache in replicas:
            await cache.close()


JSON = {"Content-Type": "application/json"}
# Requests refused before the route's key check: the body or the query is refused by a wrapper
# or by the body read that runs ahead of the dependencies (ADR 0006, amendment).
REFUSED_BEFORE_THE_KEY = {
    "invalid JSON, a hot write": ("POST", "/v1/settlements", b"{", JSON, 422),
    "repeated key, a hot write": ("POST", "/v1/admissions", b'{"a": 1, "a": 2}', JSON, 422),
    "invalid JSON, another write": ("POST", "/v1/violations/verify", b"{", JSON, 422),
    "repeated key, another write": (
        "POST",
        "/v1/violations/verify",
        b'{"a": 1, "a": 2}',
        JSON,
        422,
    ),
    "unknown query parameter": ("GET", "/v1/policies?bogus=1", b"", {}, 422),
    "body not JSON": ("POST", "/v1/settlements", b"{}", {"Content-Type": "text/plain"}, 415),
    "invalid JSON, NHSA envelope": ("POST", "/nhsa", b"{", JSON, 200),
    "repeated key, NHSA envelope": ("POST", "/nhsa", b'{"a": 1, "a": 2}', JSON, 200),
    "body not JSON, NHSA envelope": ("POST", "/nhsa", b"{}", {"Content-Type": "text/plain"}, 200),
    "repeated key, FHIR": (
        "POST",
        "/fhir/CoverageEligibilityRequest",
        b'{"a": 1, "a": 2}',
        JSON,
        422,
    ),
    "format not served, FHIR": ("GET", "/fhir/metadata?_format=xml", b"", {}, 406),
}


@pytest.mark.parametrize("case", list(REFUSED_BEFORE_THE_KEY), ids=str)
async def test_a_request_refused_before_its_key_is_checked_still_counts(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], case: str
) -> None:
    method, url, body, headers, status = REFUSED_BEFORE_THE_KEY[case]
    sent = {**hospital_headers, **headers}
    codes = [
        (await client.request(method, url, content=body, headers=sent)).status_code
        for _ in range(LIMIT + 1)
    ]
    # Refused as before while under the limit; past it, the refusal is the limit's.
    assert codes == [status] * LIMIT + [429]
    past = await client.request(method, url, content=body, headers=sent)
    assert past.status_code == 429
    assert "rate_limited" in past.text  # problem+json, or FHIR's OperationOutcome
    assert 1 <= int(past.headers["retry-after"]) <= 60
    assert (await client.get("/v1/policies", headers=hospital_headers)).status_code == 429


async def test_a_refused_request_without_a_valid_key_keeps_its_refusal(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    unknown = {"X-API-Key": hospital_headers["X-API-Key"][:-4] + "xxxx"}
    for headers in (JSON, {**unknown, **JSON}):
        for _ in range(LIMIT + 1):
            refused = await client.post("/v1/settlements", content=b"{", headers=headers)
            assert refused.status_code == 422
            assert refused.json()["code"] == "validation_error"
    assert await _spend(client, hospital_headers, LIMIT) == [200] * LIMIT


async def test_a_refused_request_keeps_its_refusal_while_its_key_cannot_be_checked(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the database down and the key not yet cached, the key cannot be counted: the
    request is still refused for what is wrong with it (422), not answered 503 as if sending it
    again could succeed. An accepted request still answers 503."""

    async def no_database(*_: object) -> None:
        raise DatabaseUnavailable("no answer")

    monkeypatch.setattr(deps, "find_by_prefix", no_database)
    refused = await client.post(
        "/v1/settlements", content=b"{", headers={**hospital_headers, **JSON}
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    accepted = await client.get("/v1/policies", headers=hospital_headers)
    assert (accepted.status_code, accepted.json()["code"]) == (503, "database_unavailable")


def _oversized(limit: int, *, streamed: bool) -> bytes | AsyncIterator[bytes]:
    """A body one byte over the limit: declared by its Content-Length, or streamed without one
    (BodySizeLimitMiddleware counts it as it arrives)."""
    if not streamed:
        return b" " * (limit + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    return chunks()


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
@pytest.mark.parametrize("url", ["/v1/settlements", "/nhsa", "/fhir/CoverageEligibilityRequest"])
async def test_a_body_over_the_size_limit_counts_against_its_key(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    url: str,
    streamed: bool,
) -> None:
    """The 413 is answered before any route runs, so no key check counted it: a key could send
    oversized bodies without limit."""
    limit, sent = app.state.settings.max_body_bytes, {**hospital_headers, **JSON}
    codes = [
        (
            await client.post(url, content=_oversized(limit, streamed=streamed), headers=sent)
        ).status_code
        for _ in range(LIMIT)
    ]
    assert codes == [413] * LIMIT
    past = await client.post(url, content=_oversized(limit, streamed=streamed), headers=sent)
    assert (past.status_code, past.json()["code"]) == (429, "rate_limited")
    assert past.headers["content-type"] == "application/problem+json"
    assert 1 <= int(past.headers["retry-after"]) <= 60
    assert (await client.get("/v1/policies", headers=hospital_headers)).status_code == 429


async def test_a_body_over_the_size_limit_without_a_valid_key_stays_413(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    limit = app.state.settings.max_body_bytes
    unknown = {"X-API-Key": hospital_headers["X-API-Key"][:-4] + "xxxx"}
    for headers in (JSON, {**unknown, **JSON}):
        for _ in range(LIMIT + 1):
            refused = await client.post(
                "/v1/settlements", content=_oversized(limit, streamed=False), headers=headers
            )
            assert (refused.status_code, refused.json()["code"]) == (413, "payload_too_large")
    assert await _spend(client, hospital_headers, LIMIT) == [200] * LIMIT


async def test_a_console_form_over_the_size_limit_counts_against_the_sessions_key(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """The console spends the key's budget in its guard, which a form over the limit never
    reaches (its 413 page is answered first): the session's key is counted there instead."""
    origin = {"Origin": str(client.base_url).rstrip("/")}
    login = await client.post(
        "/console/login", data={"api_key": hospital_headers["X-API-Key"]}, headers=origin
    )
    assert login.status_code == 303  # the key's first request of the window
    limit = app.state.settings.max_body_bytes
    form = {**origin, "Content-Type": "application/x-www-form-urlencoded"}
    codes = [
        (await client.post("/console/whatif", content=b"x" * (limit + 1), headers=form)).status_code
        for _ in range(LIMIT - 1)
    ]
    assert codes == [413] * (LIMIT - 1)
    refused = await client.post("/console/whatif", content=b"x" * (limit + 1), headers=form)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert (await client.get("/v1/policies", headers=hospital_headers)).status_code == 429
    # Signed out, a form over the limit is the 413 page, however often it is sent.
    client.cookies.clear()
    for _ in range(LIMIT + 1):
        out = await client.post("/console/whatif", content=b"x" * (limit + 1), headers=form)
        assert out.status_code == 413
