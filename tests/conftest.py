"""Test fixtures: an isolated database per test (SQLite file, or PostgreSQL truncated after each
test), the app over ASGI, and API keys per role.

Backends come from the environment:
  SETTLECHECK_TEST_POSTGRES_URL  e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
  SETTLECHECK_TEST_REDIS_URL     e.g. redis://127.0.0.1:6379/15
Unset, the suite runs on SQLite with the in-process cache; tests that need the real servers skip
and say which variable to set. `.ci/run` runs the suite both ways.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import settings
from sqlmodel.ext.asyncio.session import AsyncSession

from service.app import create_app
from service.auth import Role
from service.auth.keys import issue_key
from service.base import SQLModel
from service.settings import Settings
from tests import factories
from tests.clock import NEXT_YEAR_END, travel_target
from tests.factories import POSTGRES_URL, REDIS_URL, KeyFactory, make_settings

# Speed is measured by bench/, never by a test: a property test's per-example deadline fails
# only on a loaded machine (a roster check took 265 ms against 200 with other work running).
settings.register_profile("settlecheck", deadline=None)
settings.load_profile("settlecheck")


_CLOCK = pytest.StashKey[datetime]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="INSTANT",
        help="run the suite as if it started at this ISO 8601 instant (the clock still ticks), "
        f"or at '{NEXT_YEAR_END}': 16:30 UTC on the coming 31 December, when UTC is still in the "
        "old year and China already in the new one. .ci/run runs the suite there too.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """A test that reads the clock must hold at any instant CI may run it: from 16:00 UTC it
    is tomorrow in China, and the last day of a month or year is then the next one's first.
    Whole-process travel (time-machine patches every Python clock but the monotonic ones)
    finds the test that only holds at the hours someone happened to run it."""
    option = config.getoption("--clock")
    if option:
        import time_machine

        instant = travel_target(option, now=datetime.now(UTC))
        traveller = time_machine.travel(instant, tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)
        config.stash[_CLOCK] = instant


def pytest_report_header(config: pytest.Config) -> str | None:
    instant = config.stash.get(_CLOCK, None)
    return f"clock: travelled to {instant.isoformat()} (--clock)" if instant else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.postgres` / `@pytest.mark.redis`: the test needs that server, and skips,
    saying which variable to set, when the suite runs without it (`-m postgres` selects them)."""
    missing = {
        "postgres": None if POSTGRES_URL else "set SETTLECHECK_TEST_POSTGRES_URL to run it",
        "redis": None if REDIS_URL else "set SETTLECHECK_TEST_REDIS_URL to run it",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}: {reason}"))


def _create_schema(url: str, *, drop_first: bool = False) -> None:
    """Schema from the models (fast, and independent of the revision chain);
    tests/foundation/test_migrations.py proves the migrations build the same schema."""
    from service import models  # noqa: F401  (registers every table)

    engine = sa.create_engine(url.replace("+aiosqlite", "").replace("+psycopg", "+psycopg"))
    try:
        if drop_first:
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        SQLModel.metadata.create_all(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file with the schema; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _create_schema(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> str | None:
    if POSTGRES_URL is None:
        return None
    _create_schema(POSTGRES_URL, drop_first=True)
    return POSTGRES_URL


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, postgres_schema: str | None) -> str:
    if postgres_schema is not None:
        return postgres_schema
    db = tmp_path / "test.db"
    shutil.copy(sqlite_template, db)
    return f"sqlite+aiosqlite:///{db}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


async def _truncate_all(app: FastAPI) -> None:
    names = ", ".join(t.name for t in reversed(SQLModel.metadata.sorted_tables))
    async with app.state.engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        if settings.redis_url:
            await _flush_redis(settings.redis_url)
        await factories.seed_regions(application.state.sessionmaker)
        await factories.seed_shipped_policies(application.state.sessionmaker)
        try:
            yield application
        finally:
            if not settings.is_sqlite:
                await _truncate_all(application)


async def _flush_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    async with app.state.sessionmaker() as s:
        yield s


@pytest.fixture
def make_key(app: FastAPI) -> KeyFactory:
    """`headers = await make_key("hospital", hospital_code="H1")` -> {"X-API-Key": token}."""

    async def _make(role: str, **scope: Any) -> dict[str, str]:
        async with app.state.sessionmaker() as s:
            issued = await issue_key(s, role=Role(role), **scope)
            await s.commit()
        return {"X-API-Key": issued.token}

    return _make


@pytest.fixture
async def hospital_headers(make_key: KeyFactory) -> dict[str, str]:
    return await make_key("hospital", hospital_code=factories.COUNTY_HOSPITAL)


@pytest.fixture
async def other_hospital_headers(make_key: KeyFactory) -> dict[str, str]:
    return await make_key("hospital", hospital_code=factories.NEIGHBOUR_HOSPITAL)


@pytest.fixture
async def auditor_headers(make_key: KeyFactory) -> dict[str, str]:
    return await make_key("auditor", region_prefix="99")


@pytest.fixture
async def admin_headers(make_key: KeyFactory) -> dict[str, str]:
    return await make_key("admin")
