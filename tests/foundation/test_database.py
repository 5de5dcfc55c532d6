"""The engine's pool never hands out a connection the server has already closed."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
import sqlalchemy as sa

from service.db import create_engine
from tests.factories import POSTGRES_URL, make_settings


@pytest.mark.postgres
async def test_a_pooled_connection_closed_by_the_server_is_replaced_at_checkout() -> None:
    assert POSTGRES_URL is not None
    engine = create_engine(make_settings(POSTGRES_URL, database_pool_size=1))
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        await asyncio.to_thread(_terminate, pid)

        async with engine.connect() as conn:
            after = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()

        assert after != pid
    finally:
        await engine.dispose()


def _terminate(pid: int) -> None:
    """What a PostgreSQL restart does to every session, done to one (from outside the pool)."""
    assert POSTGRES_URL is not None
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):  # until the backend has exited and so closed its socket
            gone = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
            if gone.fetchone() == (0,):
                return
            time.sleep(0.05)
