"""The orchestration state machine (machine.py) on in-memory stores, SQLite and PostgreSQL, and
proof that it catches a broken invariant."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from service.clearing import service as clearing_service
from service.demo import DEMO_HOSPITALS
from service.receivables import service as receivables_service
from service.regions.models import Hospital
from tests.conftest import POSTGRES_URL
from tests.fakes.collaborators import (
    MemoryCatalog,
    MemoryDirectory,
    MemoryRegistry,
    admission_context,
)
from tests.fakes.stores import MemoryDatabase, MemoryUnitOfWork, memory_unit_of_work
from tests.unit_of_work import machine as machine_module
from tests.unit_of_work.machine import (
    HASHER,
    HOSPITAL,
    Backend,
    OrchestrationMachine,
    SqlBackend,
)

# Small enough that each backend runs in seconds, large enough to reach every rule's branches
# (a reversal after a retry, a deposit after the admission's reversal, a reopened violation, a
# share paid then cancelled). A reversal closed as an adjustment after its settlement's close
# is reached only now and then (the runs' people and hospital differ with the order tests run
# in); `_reversal_after_the_close` scripts it on every backend.
RUNS = settings(
    max_examples=25,
    stateful_step_count=40,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Each step is a few transactions on a real database.
SQL_RUNS = settings(RUNS, max_examples=10, stateful_step_count=30)


class MemoryBackend:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.db = MemoryDatabase()
        self.registry = MemoryRegistry()
        self.catalog = MemoryCatalog()
        self.hospitals = MemoryDirectory(DEMO_HOSPITALS)
        self.admission_context = admission_context(
            registry=self.registry, catalog=self.catalog, hospitals=self.hospitals, hasher=HASHER
        )

    def unit(self) -> Any:
        return memory_unit_of_work(self.db)

    def add_hospital(self, code: str) -> None:
        twin = next(h for h in DEMO_HOSPITALS if h.code == HOSPITAL)
        self.hospitals.add(Hospital.model_validate(twin.model_dump() | {"code": code}))
        self.db.committed.hospitals[code] = twin.county_code


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The machine's own loop: its rules are synchronous and run each service call to the end."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


def _machine(backend: Callable[[], Backend]) -> type[OrchestrationMachine]:
    return type("Machine", (OrchestrationMachine,), {"backend": staticmethod(backend)})


def test_on_memory_stores(loop: asyncio.AbstractEventLoop) -> None:
    machine = _machine(lambda: MemoryBackend(loop))
    run_state_machine_as_test(machine, settings=RUNS)
    assert machine.checked > 0  # the invariants ran (a failing one raises above)


def test_on_sqlite(loop: asyncio.AbstractEventLoop, tmp_path: Any, sqlite_template: Any) -> None:
    db = tmp_path / "machine.db"
    shutil.copy(sqlite_template, db)
    backend = SqlBackend(loop, f"sqlite+aiosqlite:///{db}")
    machine = _machine(lambda: backend)
    try:
        run_state_machine_as_test(machine, settings=SQL_RUNS)
    finally:
        backend.close(truncate=False)
    assert machine.checked > 0


@pytest.mark.postgres
@pytest.mark.skipif(
    POSTGRES_URL is None, reason="set SETTLECHECK_TEST_POSTGRES_URL to run against PostgreSQL"
)
def test_on_postgres(loop: asyncio.AbstractEventLoop, postgres_schema: str | None) -> None:
    assert postgres_schema is not None
    backend = SqlBackend(loop, postgres_schema)
    try:
        run_state_machine_as_test(_machine(lambda: backend), settings=SQL_RUNS)
    finally:
        backend.close(truncate=True)


def test_a_reversal_one_fen_short_is_caught(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break the invariant on purpose: a reversal that gives back one fen too few of every
    amount. The machine must find a sequence of steps that shows it."""

    def one_fen_short(deltas: dict[str, int]) -> dict[str, int]:
        return {k: -(v - 1) if v > 1 else -v for k, v in deltas.items()}

    monkeypatch.setattr("service.settlements.service.reverse_deltas", one_fen_short)
    finding_only = settings(RUNS, phases=[Phase.generate])  # no shrinking: finding is the point
    with pytest.raises(AssertionError, match="accumulators"):
        run_state_machine_as_test(_machine(lambda: MemoryBackend(loop)), settings=finding_only)


def _reversal_after_the_close(
    machine: type[OrchestrationMachine], monkeypatch: pytest.MonkeyPatch
) -> list[Any]:
    """The machine's steps as a script: a settlement, its month closed, the settlement reversed
    (a line dated in the closed month), the next month closed. Returns both statements as a
    fund reads them."""
    monkeypatch.setattr(machine_module, "event", lambda *_: None)  # outside a hypothesis run
    state = machine()
    visit = state.admit(person=0, deposit="0")
    settled = state.settle(visit, in_policy=30_000, out_of_policy=0, mode="one_stop")
    state.pay(settled, how="part", in_the_ward=False)
    state.close(pick=0, which="next", again=True)  # the month settled in: the basic pool's
    state.ledger_holds()
    state.reverse(settled)
    state.ledger_holds()
    state.pay(settled, how="part", in_the_ward=False)  # refused: the share is cancelled
    state.close(pick=0, which="next", again=False)
    state.ledger_holds()
    assert machine.carried == 1
    assert machine.paid_back == 1
    first = state.month
    return [
        state.call(
            lambda uow, period=period: clearing_service.statement(
                uow,
                principal=machine_module.fund_key("F99-BASIC"),
                fund_code="F99-BASIC",
                hospital_code=state.hospital,
                period=str(period),
            )
        )
        for period in (first, first.next())
    ]


def _assert_carried(statements: list[Any]) -> None:
    """The reversal is the next statement's adjustment, netting the fund's share to nothing."""
    first, second = statements
    assert (first.status, second.status) == ("closed", "closed")
    assert [(x.kind, x.adjustment) for x in first.lines] == [("settlement", False)]
    assert [(x.kind, x.adjustment) for x in second.lines] == [("reversal", True)]
    assert first.lines[0].settlement_id == second.lines[0].settlement_id
    assert Decimal(first.fund_own_amt) > 0
    assert Decimal(second.fund_own_amt) == -Decimal(first.fund_own_amt)
    assert (first.setl_cnt, second.setl_cnt) == (1, -1)
    assert second.prev_hash == first.content_hash


def test_a_reversal_after_the_close_is_carried_on_memory_stores(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = _machine(lambda: MemoryBackend(loop))
    first, second = _reversal_after_the_close(machine, monkeypatch)
    assert [(x.kind, x.adjustment) for x in second.lines] == [("reversal", True)]
    _assert_carried([first, second])


def test_a_reversal_after_the_close_is_carried_on_sqlite(
    loop: asyncio.AbstractEventLoop,
    tmp_path: Any,
    sqlite_template: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "machine.db"
    shutil.copy(sqlite_template, db)
    backend = SqlBackend(loop, f"sqlite+aiosqlite:///{db}")
    try:
        statements = _reversal_after_the_close(_machine(lambda: backend), monkeypatch)
    finally:
        backend.close(truncate=False)
    assert [(x.kind, x.adjustment) for x in statements[1].lines] == [("reversal", True)]
    _assert_carried(statements)


@pytest.mark.postgres
@pytest.mark.skipif(
    POSTGRES_URL is None, reason="set SETTLECHECK_TEST_POSTGRES_URL to run against PostgreSQL"
)
def test_a_reversal_after_the_close_is_carried_on_postgres(
    loop: asyncio.AbstractEventLoop,
    postgres_schema: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert postgres_schema is not None
    backend = SqlBackend(loop, postgres_schema)
    try:
        statements = _reversal_after_the_close(_machine(lambda: backend), monkeypatch)
    finally:
        backend.close(truncate=True)
    assert [(x.kind, x.adjustment) for x in statements[1].lines] == [("reversal", True)]
    _assert_carried(statements)


def test_a_close_that_forgets_the_carried_lines_is_caught(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break a statement on purpose: a close that leaves out what landed in a month already
    closed (a reversal after its settlement's close: the adjustment docs/clearing.md owes the
    next statement). The machine's sums of the answers must show it."""
    real = clearing_service._open_lines

    async def forgets_the_carried(*args: Any, **kwargs: Any) -> Any:
        lines, last = await real(*args, **kwargs)
        return [x for x in lines if last is None or x.period > last], last

    monkeypatch.setattr(clearing_service, "_open_lines", forgets_the_carried)
    # The machine's own steps reaching it (the random runs reach it only now and then).
    machine = _machine(lambda: MemoryBackend(loop))
    with pytest.raises(AssertionError, match=r"statement F99-BASIC \d{4}-\d\d: lines "):
        _reversal_after_the_close(machine, monkeypatch)
    assert machine.carried == 0  # the reversal was left out of the next statement


def test_a_retried_payment_counted_twice_is_caught(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break a share on purpose: the HIS's retry of a payment is answered as a replay but
    adds the amount again. The machine's sum of the payments it saw accepted must show it."""
    real = receivables_service._replay

    async def counts_it_again(uow: Any, row: Any, earlier: Any, body: Any, amount: int) -> Any:
        await uow.receivables.add_paid(receivable_id=row.id, amount_fen=amount)
        return await real(uow, row, earlier, body, amount)

    monkeypatch.setattr(receivables_service, "_replay", counts_it_again)
    finding_only = settings(RUNS, phases=[Phase.generate])
    with pytest.raises(AssertionError, match="!= the payments accepted"):
        run_state_machine_as_test(_machine(lambda: MemoryBackend(loop)), settings=finding_only)


def test_memory_unit_of_work_rolls_back_what_failed(loop: asyncio.AbstractEventLoop) -> None:
    """The fake is only worth its name if a failed unit leaves nothing behind."""
    db = MemoryDatabase()

    async def fail_after_writing() -> None:
        async with memory_unit_of_work(db) as uow:
            await uow.admissions.add_event({"admission_id": 1, "kind": "x"})
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        loop.run_until_complete(fail_after_writing())
    assert db.committed.events == {}
    assert isinstance(MemoryUnitOfWork(db).tables.events, dict)
