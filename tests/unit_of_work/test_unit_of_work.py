"""The unit of work owns the transaction: it retries what PostgreSQL asks to retry, answers a
lost race from the winner, and commits nothing for a request that touched no table."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from service.db import Duplicate
from service.settlements.errors import SettlementBusy
from service.unit_of_work import RETRY_ATTEMPTS, Busy, SqlUnitOfWork, unit_of_work


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failure(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE accumulators ...", None, _DriverError(sqlstate))


class Flaky:
    """Fails `failures` times with `sqlstate`, then answers; counts its attempts."""

    def __init__(self, failures: int, sqlstate: str = "40001") -> None:
        self.failures, self.sqlstate, self.attempts = failures, sqlstate, 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise _failure(self.sqlstate)
        return "done"


@pytest.fixture
def uow(app: FastAPI) -> SqlUnitOfWork:
    return SqlUnitOfWork(app.state.sessionmaker())


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_serialization_failures_and_deadlocks_are_retried(
    uow: SqlUnitOfWork, sqlstate: str
) -> None:
    work = Flaky(RETRY_ATTEMPTS - 1, sqlstate)
    assert await uow.run(work) == "done"
    assert work.attempts == RETRY_ATTEMPTS


async def test_after_the_last_attempt_the_caller_is_told_to_retry_later(
    uow: SqlUnitOfWork,
) -> None:
    work = Flaky(RETRY_ATTEMPTS)
    with pytest.raises(SettlementBusy) as caught:
        await uow.run(work, busy=lambda: SettlementBusy("contended"))
    assert work.attempts == RETRY_ATTEMPTS
    assert caught.value.status == 503
    assert caught.value.code == "settlement_busy"
    assert caught.value.headers["Retry-After"] == "1"


async def test_without_its_own_error_the_unit_says_busy(uow: SqlUnitOfWork) -> None:
    with pytest.raises(Busy) as caught:
        await uow.run(Flaky(RETRY_ATTEMPTS))
    assert caught.value.headers["Retry-After"] == "1"


async def test_other_database_errors_are_not_retried(uow: SqlUnitOfWork) -> None:
    work = Flaky(1, "23514")  # check_violation: a bug, not contention
    with pytest.raises(DBAPIError):
        await uow.run(work)
    assert work.attempts == 1


async def test_a_lost_race_is_answered_from_the_winner(uow: SqlUnitOfWork) -> None:
    async def loses() -> str:
        raise Duplicate("settlements: HIS id taken")

    async def winner() -> str:
        return "the stored one"

    assert await uow.run(loses, on_duplicate=winner) == "the stored one"
    with pytest.raises(Duplicate):
        await uow.run(loses)


async def test_a_unit_that_touched_no_table_takes_no_connection(app: FastAPI) -> None:
    pool: Any = app.state.engine.pool
    async with unit_of_work(app.state.sessionmaker) as uow:
        assert not uow.session.in_transaction()
    assert pool.checkedout() == 0


async def test_a_failed_block_commits_nothing(app: FastAPI) -> None:
    from tests import factories

    async def fails_after_writing() -> None:
        async with unit_of_work(app.state.sessionmaker) as uow:
            await uow.violations.book(factories.finding())
            raise RuntimeError("the caller failed after writing")

    with pytest.raises(RuntimeError):
        await fails_after_writing()
    async with unit_of_work(app.state.sessionmaker) as uow:
        assert (
            await uow.violations.of_visit(hospital_code=factories.COUNTY_HOSPITAL, visit_id="V0001")
            == []
        )
