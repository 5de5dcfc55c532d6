"""The unit of work: the one owner of a transaction, and the way a service reaches its stores.

A service receives a `UnitOfWork`, reads and writes through its stores (`uow.settlements`,
`uow.admissions`, `uow.violations`, `uow.receivables`, `uow.clearing`, `uow.yearend`,
`uow.regions`), and never begins, commits or rolls back itself. The unit of work begins on the
first statement, commits once when the request's handler returned (before the response is
sent), rolls back on any error, and reruns a piece of work after a serialization failure or
deadlock (bounded, with jittered backoff). A request that touched no table has no transaction
and commits nothing.

`SqlUnitOfWork` is the database's; tests/fakes/stores.py holds an in-memory one with the same
interface, so the orchestration runs without a database (docs/decisions/0009-unit-of-work.md).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Protocol, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.store import AdmissionStore, SqlAdmissionStore
from service.clearing.store import ClearingStore, SqlClearingStore
from service.db import Duplicate
from service.errors import ServiceError, ServiceUnavailable
from service.receivables.store import ReceivableStore, SqlReceivableStore
from service.regions.store import RegionStore, SqlRegionStore
from service.settlements.store import SettlementStore, SqlSettlementStore
from service.violations.store import SqlViolationStore, ViolationStore
from service.yearend.store import SqlYearEndStore, YearEndStore

T = TypeVar("T")

RETRY_ATTEMPTS = 6
RETRY_BASE_SECONDS = 0.01
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


class Busy(ServiceUnavailable):
    """The work stayed contended through every retry (a service may pass its own subclass)."""

    code = "database_busy"


def _busy() -> ServiceError:
    return Busy("the rows this request needs stayed contended; retry it")


Raced = Callable[[], Awaitable[T]]


class UnitOfWork(Protocol):
    """What a service may do with a transaction: reach its stores, and run a piece of work
    that the unit of work retries or rolls back. Never commit or roll back itself."""

    settlements: SettlementStore
    admissions: AdmissionStore
    violations: ViolationStore
    receivables: ReceivableStore
    clearing: ClearingStore
    yearend: YearEndStore
    regions: RegionStore

    @property
    def session(self) -> AsyncSession:
        """For the shared read-through caches (policy catalog, hospital directory, roster
        snapshot) that read with the request's session; stores are the only writers."""
        ...

    async def run(
        self,
        work: Callable[[], Awaitable[T]],
        *,
        busy: Callable[[], ServiceError] = _busy,
        on_duplicate: Raced[T] | None = None,
    ) -> T:
        """Run `work`; rerun it after a serialization failure or deadlock, at most
        RETRY_ATTEMPTS times, then raise `busy()`. If a store raised `Duplicate` (another
        transaction stored the same thing first), roll back and return `on_duplicate()`,
        which runs in a fresh transaction; without it, the `Duplicate` propagates."""
        ...


class SqlUnitOfWork:
    """A unit of work over one AsyncSession; its stores share the session's transaction."""

    __slots__ = (
        "_session",
        "admissions",
        "clearing",
        "receivables",
        "regions",
        "settlements",
        "violations",
        "yearend",
    )

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.settlements: SettlementStore = SqlSettlementStore(session)
        self.admissions: AdmissionStore = SqlAdmissionStore(session)
        self.violations: ViolationStore = SqlViolationStore(session)
        self.receivables: ReceivableStore = SqlReceivableStore(session)
        self.clearing: ClearingStore = SqlClearingStore(session)
        self.yearend: YearEndStore = SqlYearEndStore(session)
        self.regions: RegionStore = SqlRegionStore(session)

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def run(
        self,
        work: Callable[[], Awaitable[T]],
        *,
        busy: Callable[[], ServiceError] = _busy,
        on_duplicate: Raced[T] | None = None,
    ) -> T:
        for attempt in range(RETRY_ATTEMPTS):
            try:
                return await work()
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                    raise
                await self.rollback()
                if attempt == RETRY_ATTEMPTS - 1:
                    error = busy()
                    error.headers = {**(error.headers or {}), "Retry-After": "1"}
                    raise error from exc
                await asyncio.sleep(random.uniform(0, RETRY_BASE_SECONDS * 2**attempt))
            except Duplicate:
                if on_duplicate is None:
                    raise
                await self.rollback()
                return await on_duplicate()
        raise AssertionError("unreachable")

    async def commit(self) -> None:
        """Commit what this unit wrote; nothing to do if it never began a transaction."""
        if self._session.in_transaction():
            await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()

    async def close(self) -> None:
        """Give the connection back, rolling back whatever did not commit."""
        if self._session.in_transaction():
            await self._session.close()


@asynccontextmanager
async def unit_of_work(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[SqlUnitOfWork]:
    """One unit of work outside a request (CLI, start-up, tests): commits when the block
    ends without an error, rolls back otherwise."""
    uow = SqlUnitOfWork(maker())
    try:
        yield uow
        await uow.commit()
    finally:
        await uow.session.close()  # rolls back whatever did not commit


async def get_unit_of_work(request: Request) -> AsyncGenerator[SqlUnitOfWork, None]:
    """One unit of work per request, committed when the handler returns.

    The dependency is function-scoped so the commit happens before the response is sent:
    a 2xx is never acknowledged for a write that did not commit."""
    uow = SqlUnitOfWork(request.app.state.sessionmaker())
    try:
        yield uow
        await uow.commit()
    finally:
        await uow.close()


UnitOfWorkDep = Annotated[SqlUnitOfWork, Depends(get_unit_of_work, scope="function")]


async def get_session(uow: UnitOfWorkDep) -> AsyncSession:
    """The request's unit of work seen as its session, for read paths and the cold writes
    that have no store yet. A route that takes both gets one transaction; the unit of work
    still owns commit and rollback. (Hot paths take UnitOfWorkDep: one dependency less.)"""
    return uow.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


class _OnDemand:
    """Stands for an AsyncSession and makes it on first use: making one costs a warm status
    check about a tenth of its CPU (ADR 0020), and a warm check never uses it."""

    __slots__ = ("_maker", "made")

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self.made: AsyncSession | None = None

    def __getattr__(self, name: str) -> Any:
        if self.made is None:
            self.made = self._maker()
        return getattr(self.made, name)


class _Reading:
    __slots__ = ("_session",)

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._session = _OnDemand(maker)

    async def __aenter__(self) -> AsyncSession:
        return cast(AsyncSession, self._session)

    async def __aexit__(self, *exc: object) -> None:
        made = self._session.made
        if made is not None and made.in_transaction():
            await made.close()


def reading(maker: async_sessionmaker[AsyncSession]) -> _Reading:
    """A session for a read-only route that usually reads no table (a warm cache answers it):
    no unit of work and no dependency with an exit to solve. The session is made on its first
    use and begins on its first statement, if any; then it is rolled back and closed here,
    else there is nothing to do."""
    return _Reading(maker)
