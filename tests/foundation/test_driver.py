"""Hot statements on the driver (service/driver.py, ADR 0022) answer what SQLAlchemy would:
the same values, SQLAlchemy's errors, and a lost connection as an outage the pool recovers from.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from service.base import UTCDateTime
from service.db import create_engine, is_database_unavailable, is_unique_violation
from service.driver import DriverStatement
from service.settlements.store import _DRIVER_VISIT, _VISIT, SqlSettlementStore, _visit
from service.unit_of_work import RETRYABLE_SQLSTATES
from tests import factories
from tests.factories import POSTGRES_URL, make_settings
from tests.foundation.test_database import _terminate

_PID = DriverStatement(sa.text("SELECT pg_backend_pid()"))


@pytest.mark.postgres
async def test_the_visit_read_on_the_driver_is_the_one_sqlalchemy_reads(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as session:
        await factories.make_admission(session, visit_id="DRV1")
    await factories.settle(client, hospital_headers, factories.settlement_request("DRV1"))
    params = {"hospital_code": factories.COUNTY_HOSPITAL, "visit_id": "DRV1"}
    async with app.state.sessionmaker() as session:
        conn = await session.connection()
        through_sqlalchemy = _visit((await conn.execute(_VISIT, params)).all(), **params)
        on_the_driver = _visit(await _DRIVER_VISIT.rows(conn, params), **params)
    assert on_the_driver == through_sqlalchemy
    assert len(on_the_driver.history) == 1
    # UTCDateTime's conversion and the JSON column's decoding were applied
    assert on_the_driver.admitted_at.tzinfo is UTC
    assert on_the_driver.history[0].stage_end is not None
    assert on_the_driver.history[0].stage_end.tzinfo is UTC
    assert on_the_driver.categories == frozenset({"registered_poor"})


@pytest.mark.postgres
async def test_driver_errors_are_sqlalchemys_and_bind_conversions_apply() -> None:
    assert POSTGRES_URL is not None
    engine = create_engine(make_settings(POSTGRES_URL, database_pool_size=1))
    insert = DriverStatement(sa.text("INSERT INTO driver_probe VALUES (1)"))
    at = DriverStatement(
        sa.text("SELECT CAST(:at AS timestamptz)").bindparams(
            sa.bindparam("at", type_=UTCDateTime())
        )
    )
    seen: list[str] = []
    sa.event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("CREATE TEMP TABLE driver_probe (x int PRIMARY KEY)"))
            await insert.rows(conn, {})
            with pytest.raises(IntegrityError) as taken:
                await insert.rows(conn, {})
            assert is_unique_violation(taken.value)  # what the stores turn into Duplicate
            await conn.rollback()
            with pytest.raises(ValueError, match="naive"):  # UTCDateTime's guard ran
                await at.rows(conn, {"at": datetime(2024, 3, 1)})
        assert sum("driver_probe" in s for s in seen) == 3  # listeners see driver statements
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_connection_lost_under_a_driver_statement_is_an_outage_and_replaced() -> None:
    assert POSTGRES_URL is not None
    engine = create_engine(make_settings(POSTGRES_URL, database_pool_size=1))
    try:
        async with engine.connect() as conn:
            pid = await _PID.scalar(conn, {})
            await conn.commit()
            await _terminate_in_thread(pid)
            with pytest.raises(OperationalError) as lost:
                await _PID.scalar(conn, {})
        assert is_database_unavailable(lost.value)  # the 503, service/errors.py
        assert lost.value.connection_invalidated
        async with engine.connect() as conn:
            assert await _PID.scalar(conn, {}) != pid
    finally:
        await engine.dispose()


async def _terminate_in_thread(pid: int) -> None:
    await asyncio.to_thread(_terminate, pid)


@pytest.mark.postgres
async def test_a_deadlock_on_driver_statements_is_what_the_unit_of_work_retries() -> None:
    """Two transactions take two rows in opposite orders on the driver: PostgreSQL aborts one
    with 40P01, which must reach `SqlUnitOfWork.run` as a DBAPIError carrying that SQLSTATE."""
    assert POSTGRES_URL is not None
    engine = create_engine(make_settings(POSTGRES_URL, database_pool_size=2))
    touch = DriverStatement(sa.text("UPDATE driver_deadlock SET x = x WHERE id = :id RETURNING id"))
    try:
        async with engine.begin() as setup:
            await setup.execute(sa.text("DROP TABLE IF EXISTS driver_deadlock"))
            await setup.execute(sa.text("CREATE TABLE driver_deadlock (id int PRIMARY KEY, x int)"))
            await setup.execute(sa.text("INSERT INTO driver_deadlock VALUES (1, 0), (2, 0)"))
        async with engine.connect() as a, engine.connect() as b:
            await touch.rows(a, {"id": 1})
            await touch.rows(b, {"id": 2})
            outcomes = await asyncio.gather(
                touch.rows(a, {"id": 2}), touch.rows(b, {"id": 1}), return_exceptions=True
            )
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failed) == 1, outcomes
        assert isinstance(failed[0], DBAPIError)
        assert getattr(failed[0].orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    finally:
        async with engine.begin() as teardown:
            await teardown.execute(sa.text("DROP TABLE IF EXISTS driver_deadlock"))
        await engine.dispose()


async def test_the_settlement_store_asks_for_a_new_connection_once_a_transaction_ends(
    app: FastAPI,
) -> None:
    """The store holds its transaction's connection (one greenlet hop per transaction, not per
    statement). A retry's rollback or the commit closes it: the next statement must run in the
    session's next transaction, not on the closed connection."""
    visit = {"hospital_code": factories.COUNTY_HOSPITAL, "visit_id": "HELD1"}
    async with app.state.sessionmaker() as session:
        await factories.make_admission(session, visit_id="HELD1")
        store = SqlSettlementStore(session)
        for end in (session.rollback, session.commit):
            assert await store.read_visit(**visit) is not None
            assert await store.read_visit(**visit, lock=True) is not None  # the same one, held
            held = await session.connection()
            await end()
            assert held.closed
        assert await store.read_visit(**visit) is not None
        assert session.in_transaction()
        assert not (await session.connection()).closed


@pytest.mark.postgres
async def test_json_parameters_on_the_driver_are_the_values_sqlalchemy_binds() -> None:
    """The driver writes JSON with pydantic's serializer (compact, UTF-8) instead of
    `json.dumps`: the server must read the same document, and None stay what SQLAlchemy's JSON
    type makes of it (JSON null, not SQL NULL)."""
    assert POSTGRES_URL is not None
    engine = create_engine(make_settings(POSTGRES_URL, database_pool_size=1))
    echo = sa.text(
        "SELECT CAST(:doc AS jsonb), CAST(:doc AS json) IS NULL, json_typeof(CAST(:doc AS json))"
    ).bindparams(sa.bindparam("doc", type_=sa.JSON()))
    on_the_driver = DriverStatement(echo)
    documents = [
        {"zh": "城乡居民基本医疗保险：剩余 4740.00", "n": [1, -2, 3.5], "ok": True, "none": None},
        {"deltas": {"visits.settled": 1}, "nested": [{"a": []}, {}]},
        [],
        None,
    ]
    try:
        async with engine.connect() as conn:
            for doc in documents:
                through_sqlalchemy = (await conn.execute(echo, {"doc": doc})).one()
                (driver_row,) = await on_the_driver.rows(conn, {"doc": doc})
                assert tuple(driver_row) == tuple(through_sqlalchemy)
                assert driver_row[0] == doc
    finally:
        await engine.dispose()
