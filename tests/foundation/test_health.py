import httpx
import pytest
from fastapi import FastAPI

from service.cache import MemoryCache, RedisCache
from tests.factories import make_settings


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_and_cache_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"] == "up"
    assert body["checks"]["cache"] == "up"


async def test_cache_down_is_degraded_but_ready(database_url: str) -> None:
    from service.app import create_app

    # A port nothing listens on: the Redis backend fails fast and is reported down.
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["database"] == "up"


async def test_database_down_is_not_ready(tmp_path: pytest.TempPathFactory) -> None:
    from service.app import create_app

    settings = make_settings(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", database_timeout_seconds=1
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"


async def test_metrics_are_prometheus_text_by_route_template(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str]
) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics", headers=admin_headers)
    assert response.status_code == 200
    assert (
        'settlecheck_http_requests_total{method="GET",route="/healthz",status="200"}'
        in response.text
    )


async def test_a_failing_redis_is_a_miss_not_an_error() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", timeout_seconds=0.2)
    assert await cache.get("k") is None
    await cache.set("k", b"v", 10)  # swallowed
    assert await cache.hit_window("k", 60) is None
    await cache.close()


async def test_memory_cache_expires_entries() -> None:
    cache = MemoryCache()
    await cache.set("a", b"1", 60)
    await cache.set("b", b"2", 0)
    assert await cache.get("a") == b"1"
    assert await cache.get("b") is None
    assert await cache.hit_window("rl", 60) == 1
    assert await cache.hit_window("rl", 60) == 2
