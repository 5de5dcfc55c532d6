"""The clearing state machine (machine.py) on SQLite and PostgreSQL, and proof that it catches a
broken invariant."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy.ext.asyncio import AsyncEngine

from service.base import SQLModel
from service.db import create_engine, create_sessionmaker
from tests import factories
from tests.clearing.machine import ClearingMachine
from tests.factories import POSTGRES_URL, make_settings

# Each step is a few transactions, and every invariant check reads 18 statements.
RUNS = settings(
    max_examples=6,
    stateful_step_count=16,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


def _machine(loop: asyncio.AbstractEventLoop, database_url: str) -> tuple[type, AsyncEngine]:
    engine = create_engine(make_settings(database_url))
    maker = create_sessionmaker(engine)
    loop.run_until_complete(factories.seed_regions(maker))
    machine = type("Machine", (ClearingMachine,), {"maker": maker, "loop": loop})
    return machine, engine


def _sqlite(tmp_path: Path, template: Path) -> str:
    db = tmp_path / "clearing-machine.db"
    shutil.copy(template, db)
    return f"sqlite+aiosqlite:///{db}"


def test_on_sqlite(loop: asyncio.AbstractEventLoop, tmp_path: Path, sqlite_template: Any) -> None:
    machine, engine = _machine(loop, _sqlite(tmp_path, sqlite_template))
    try:
        run_state_machine_as_test(machine, settings=RUNS)
    finally:
        loop.run_until_complete(engine.dispose())
    assert machine.checked > 0  # the invariant ran (a failing one raises above)


@pytest.mark.postgres
@pytest.mark.skipif(
    POSTGRES_URL is None, reason="set SETTLECHECK_TEST_POSTGRES_URL to run against PostgreSQL"
)
def test_on_postgres(loop: asyncio.AbstractEventLoop, postgres_schema: str | None) -> None:
    assert postgres_schema is not None
    machine, engine = _machine(loop, postgres_schema)

    async def truncate() -> None:  # PostgreSQL is shared by the suite: leave it as found
        names = ", ".join(t.name for t in reversed(SQLModel.metadata.sorted_tables))
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    try:
        run_state_machine_as_test(machine, settings=RUNS)
    finally:
        loop.run_until_complete(truncate())


@pytest.mark.slow
def test_a_late_line_left_out_is_caught(
    loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    sqlite_template: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Break the invariant on purpose: an open statement that no longer carries the lines that
    landed in an already-closed month (a reversal two months on, a close before it). The
    machine must find a sequence of steps that shows it."""
    from service.clearing import service as clearing

    def without_carried(lines: Any, period: Any, last: Any) -> list[Any]:
        if last is not None and period <= last:
            return []
        return [line for line in lines if line.period == period]

    monkeypatch.setattr(clearing, "_view_lines", without_carried)
    machine, engine = _machine(loop, _sqlite(tmp_path, sqlite_template))
    finding_only = settings(RUNS, max_examples=40, phases=[Phase.generate])
    try:
        with pytest.raises(AssertionError):
            run_state_machine_as_test(machine, settings=finding_only)
    finally:
        loop.run_until_complete(engine.dispose())
