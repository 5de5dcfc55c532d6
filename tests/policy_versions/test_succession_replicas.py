"""A successor loaded through one replica while another still holds the old policy list
(ADR 0018, addendum "A replica's stale list and a successor loaded on its start day").

Each replica keeps the compiled catalogue in memory for up to 10 s (catalog.py), and the
succession's check (`settled_from`) sees only settlements committed before it. Two replicas are
two apps on one database here: the stale one settles a visit of the successor's start day.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import select

from service.app import create_app
from service.china_time import local_date
from service.dates import DateWindow
from service.policy_versions.models import PolicyVersion
from service.settings import Settings
from service.settlements import service as settlements
from service.settlements.errors import PoliciesChanged
from service.settlements.models import Settlement
from service.settlements.schemas import SettlementCreate
from service.unit_of_work import unit_of_work
from tests import factories as f
from tests.factories import county_text

# A fixed day for the story (ADR 0031): the successor starts on it and the visit ends on it.
START = "2026-06-15"
NOON = "2026-06-15T12:00:00+08:00"
OLD_VERSION = "demo-2024.1-county"
NEW_VERSION = f"demo-{START}-county"


@pytest.fixture
async def replica(app: FastAPI, settings: Settings) -> AsyncIterator[FastAPI]:
    """A second process on the same database, with a policy catalogue of its own."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        yield other


@pytest.fixture
async def replica_client(replica: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=replica, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _warm(replica: FastAPI) -> None:
    """The replica compiles the list as it stands (the successor not yet loaded)."""
    async with replica.state.sessionmaker() as session:
        await replica.state.policies.policies(session)


async def _visit_of_the_start_day(app: FastAPI) -> tuple[str, dict[str, Any]]:
    async with app.state.sessionmaker() as session:
        visit = await f.make_admission(session, admitted_at=datetime(2026, 6, 12, 2, tzinfo=UTC))
    request = f.settlement_request(
        visit.visit_id, discharged_at="2026-06-15T09:00:00+08:00", bill=f.bill("8000.00")
    )
    return visit.visit_id, request


async def _load(client: httpx.AsyncClient, admin: dict[str, str]) -> httpx.Response:
    return await client.post(
        "/v1/policies", json={"source_text": county_text(START)}, headers=admin
    )


async def test_a_stale_replica_settles_the_start_day_under_the_successor(
    app: FastAPI,
    client: httpx.AsyncClient,
    replica: FastAPI,
    replica_client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """The successor was stored through the other replica seconds ago; this one's list still
    has the old version open. A settlement under it, dated on the day it was closed for, is
    the history the succession's check promises never to exist."""
    with f.clock_at(NOON):
        _, request = await _visit_of_the_start_day(app)
        await _warm(replica)
        assert (await _load(client, admin_headers)).status_code == 201
        settled = await f.settle(replica_client, hospital_headers, request)
    assert settled["policy"]["version"] == NEW_VERSION
    await assert_no_settlement_outside_its_window(app)


async def assert_no_settlement_outside_its_window(app: FastAPI) -> None:
    """Every settlement of the demo county was made under the version whose window holds its
    discharge day (the versions' windows as stored, after every succession)."""
    async with app.state.sessionmaker() as session:
        versions = (await session.exec(select(PolicyVersion))).all()
        settlements = (await session.exec(select(Settlement))).all()
    windows = {v.content_hash: (v.effective_from, v.effective_to) for v in versions}
    assert settlements
    for row in settlements:
        day = local_date(row.discharged_at)
        start, end = windows[row.policy_hash]
        assert start <= day, (row.policy_version, day, start)
        assert end is None or day <= end, (row.policy_version, day, end)


# --- PostgreSQL: the two orders in which the settlement and the load can meet ----------------


async def _until(found: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await found():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


async def _waiting(app: FastAPI, statement: str) -> bool:
    """Is a backend waiting on a lock in a statement that starts so?"""
    async with app.state.engine.connect() as conn:
        count = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND ltrim(query, chr(10) || chr(32)) LIKE :statement"
            ),
            {"statement": statement + "%"},
        )
    return bool(count)


@pytest.mark.postgres
async def test_a_load_waits_for_a_settlement_in_flight_and_then_sees_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    replica: FastAPI,
    replica_client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """The settlement under the old version began first (its list was right then) and is
    still in flight when the successor's check runs: the check must see it, so the successor
    is refused rather than stored beside a settlement it closes the version of."""
    with f.clock_at(NOON):
        visit_id, request = await _visit_of_the_start_day(app)
        await _warm(replica)
        async with app.state.engine.connect() as blocker:
            # hold the person's accumulator row, so the settlement stops at its lock
            await blocker.execute(
                sa.text(
                    "INSERT INTO accumulators (person_key, pool, year, key, value_fen) "
                    "SELECT person_key, insured_county, 2026, 'visits.settled', 0 "
                    "FROM admissions WHERE visit_id = :visit_id"
                ),
                {"visit_id": visit_id},
            )
            settling = asyncio.create_task(f.settle(replica_client, hospital_headers, request))
            await _until(lambda: _waiting(app, "INSERT INTO accumulators"), "the settlement waits")
            loading = asyncio.create_task(_load(client, admin_headers))
            await _until(
                lambda: _done_or_waiting(loading, app, "SELECT pg_advisory_xact_lock"),
                "the load waits or ends",
            )
            await blocker.rollback()
        settled = await settling
        loaded = await loading
    assert settled["policy"]["version"] == OLD_VERSION  # its list was right when it began
    assert loaded.status_code == 409, loaded.text
    assert loaded.json()["code"] == "policy_succession_retroactive"
    await assert_no_settlement_outside_its_window(app)


async def _done_or_waiting(task: asyncio.Task[Any], app: FastAPI, statement: str) -> bool:
    return task.done() or await _waiting(app, statement)


@pytest.mark.postgres
async def test_a_settlement_that_waited_for_a_load_settles_under_the_successor(
    app: FastAPI,
    client: httpx.AsyncClient,
    replica: FastAPI,
    replica_client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """The load has passed its check and not yet committed when the stale replica settles:
    the settlement must not commit under the old version (it waits for the load and then
    settles under the successor)."""
    with f.clock_at(NOON):
        _, request = await _visit_of_the_start_day(app)
        await _warm(replica)
        async with app.state.engine.connect() as blocker:
            # an uncommitted row in the successor's slot: the load stops at its own INSERT,
            # after its checks, until this one rolls back
            await blocker.execute(
                sa.insert(PolicyVersion.__table__).values(  # type: ignore[attr-defined]
                    region_code=f.COUNTY,
                    version="blocker",
                    name="blocker",
                    effective_from=datetime.fromisoformat(START).date(),
                    content_hash="b" * 64,
                    source_text="",
                    loaded_by="test",
                    created_at=datetime.now(UTC),
                )
            )
            loading = asyncio.create_task(_load(client, admin_headers))
            await _until(lambda: _waiting(app, "INSERT INTO policy_versions"), "the load waits")
            settling = asyncio.create_task(f.settle(replica_client, hospital_headers, request))
            await _until(
                lambda: _done_or_waiting(settling, app, "INSERT INTO accumulators"),
                "the settlement waits or ends",
            )
            await blocker.rollback()
        loaded = await loading
        settled = await settling
    assert loaded.status_code == 201, loaded.text
    assert settled["policy"]["version"] == NEW_VERSION
    await assert_no_settlement_outside_its_window(app)


class _EveryListStale:
    """A catalogue whose every list reads as older than the stored one (as if the versions
    changed again while each settlement was made)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.invalidated = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def generation(self, session: Any) -> tuple[int | None, int | None]:
        await self._inner.generation(session)
        return (0, 0)

    def invalidate(self) -> None:
        self.invalidated += 1
        self._inner.invalidate()


async def test_a_list_stale_again_after_the_reload_is_refused_and_nothing_is_written(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """The write that finds the list stale writes nothing (no settlement, no accumulator
    moved, no share); after one reload it is a 409 the desk may send again."""
    stale = _EveryListStale(app.state.policies)
    with f.clock_at(NOON):
        _, request = await _visit_of_the_start_day(app)
        with pytest.raises(PoliciesChanged):
            async with unit_of_work(app.state.sessionmaker) as uow:
                await settlements.create(
                    uow,
                    catalog=stale,
                    hospitals=app.state.hospitals,
                    hospital_code=f.COUNTY_HOSPITAL,
                    window=DateWindow(date(2016, 1, 1), timedelta(seconds=300)),
                    body=SettlementCreate.model_validate(request),
                )
        assert stale.invalidated == 1
        async with app.state.sessionmaker() as session:
            for table in ("settlements", "receivables"):
                count = sa.text(f"SELECT count(*) FROM {table}")
                assert (await session.exec(count)).one()[0] == 0  # type: ignore[call-overload]
            moved = sa.text("SELECT count(*) FROM accumulators WHERE value_fen <> 0")
            assert (await session.exec(moved)).one()[0] == 0  # type: ignore[call-overload]
        settled = await f.settle(client, hospital_headers, request)
    assert settled["policy"]["version"] == OLD_VERSION  # nothing was loaded: the list was right
