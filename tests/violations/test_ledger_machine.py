"""The ledger as a county uses it, step by random step (issue 11, "Done when"): violations booked
in several counties, rectified (some twice, sent back, reopened), and the ledger verifies intact
after every step; a tamper step edits one covered column of one violation, inside a transaction
that is then rolled back, and verify, reading that transaction, must say BROKEN and name it."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.db import create_engine, create_sessionmaker
from service.violations.content import VIOLATION_COVER
from service.violations.ledger import book_violation
from service.violations.models import (
    LedgerHead,
    Violation,
    ViolationTransition,
    violations_table,
)
from service.violations.rectification import STEPS, move
from service.violations.verify import verify_ledger
from tests import factories as f
from tests.conftest import make_settings, needs_postgres

ADMIN = Principal(key_id=0, role=Role.ADMIN)
COUNTIES = ("990102", "990103", "990201")
# Every column the chain vouches for that a tamper names at the violation itself; `chain` and
# `chain_seq` move the record out of its place and are named at the gap (test_coverage.py).
TAMPERABLE = sorted(c for c, cover in VIOLATION_COVER.items() if c not in ("chain", "chain_seq"))


def _changed(column: str, value: Any) -> Any:
    if column == "id":
        return value + 100_000
    if column == "status":
        return "verified" if value != "verified" else "open"
    if value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("y" if value.endswith("x") else "x")
    if isinstance(value, dict):
        return {**value, "tampered": 1}
    return value - timedelta(days=30)


async def _unchecked_foreign_keys(session: AsyncSession) -> None:
    """Let this transaction break foreign keys (an id edit); it is rolled back anyway."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(sa.text("SET LOCAL session_replication_role = replica"))  # type: ignore[call-overload]
    else:
        await session.exec(sa.text("PRAGMA defer_foreign_keys = ON"))  # type: ignore[call-overload]


class LedgerMachine(RuleBasedStateMachine):
    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(make_settings(self.url))
        self.maker = create_sessionmaker(self.engine)
        self.booked: list[tuple[int, str]] = []  # (id, county)
        self.status: dict[int, str] = {}
        self.moves = 0
        self.run(self._empty())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    async def _empty(self) -> None:
        async with self.engine.begin() as conn:
            for table in (ViolationTransition, Violation, LedgerHead):
                await conn.execute(sa.delete(table))

    @rule(county=st.sampled_from(COUNTIES), visit=st.integers(1, 10_000))
    def book(self, county: str, visit: int) -> None:
        async def _book() -> int:
            async with self.maker() as session:
                finding = f.finding(
                    county_code=county, hospital_code=f"H{county}001", visit_id=f"V{visit}"
                )
                violation = await book_violation(session, finding)
                await session.commit()
                assert violation.id is not None
                return violation.id

        vid = self.run(_book())
        self.booked.append((vid, county))
        self.status[vid] = "open"

    @precondition(lambda self: self.booked)
    @rule(data=st.data())
    def rectify(self, data: st.DataObject) -> None:
        vid, _ = data.draw(st.sampled_from(self.booked), label="violation")
        nexts = sorted(to for (frm, to) in STEPS if frm == self.status[vid])
        to = data.draw(st.sampled_from(nexts), label="to_status")

        async def _move() -> None:
            async with self.maker() as session:
                violation = await session.get(Violation, vid)
                assert violation is not None
                await move(session, principal=ADMIN, violation=violation, to_status=to, note="复核")
                await session.commit()

        self.run(_move())
        self.status[vid] = to
        self.moves += 1

    @precondition(lambda self: self.booked)
    @rule(data=st.data(), column=st.sampled_from(TAMPERABLE))
    def tamper(self, data: st.DataObject, column: str) -> None:
        vid, county = data.draw(st.sampled_from(self.booked), label="violation")
        self.run(self._tamper_and_verify(vid, county, column))

    async def _tamper_and_verify(self, vid: int, county: str, column: str) -> None:
        async with self.maker() as session:
            await _unchecked_foreign_keys(session)
            row = (
                await session.exec(  # type: ignore[call-overload]
                    sa.select(violations_table).where(violations_table.c.id == vid)
                )
            ).one()
            new = _changed(column, row._mapping[column])
            await session.exec(  # type: ignore[call-overload]
                violations_table.update().where(violations_table.c.id == vid).values({column: new})
            )
            report = await verify_ledger(session, principal=ADMIN)
            await session.rollback()
        assert not report.intact, f"{column} of violation {vid} edited, verify says intact"
        broken = report.first_broken
        assert broken is not None
        named = (broken.chain, broken.seq, broken.kind)
        assert named == (county, row.chain_seq, "violation"), (column, named, broken.reason)
        assert broken.id == (new if column == "id" else vid)

    @invariant()
    def the_ledger_verifies_intact(self) -> None:
        async def _verify() -> Any:
            async with self.maker() as session:
                return await verify_ledger(session, principal=ADMIN)

        report = self.run(_verify())
        assert report.intact, report.first_broken
        assert report.records_checked == len(self.booked) + self.moves


MACHINE_SETTINGS = settings(
    max_examples=8,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _run(url: str) -> None:
    machine = type("LedgerMachineOn", (LedgerMachine,), {"url": url})
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)


def test_the_ledger_machine_on_sqlite(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "machine.db"
    shutil.copy(sqlite_template, db)
    _run(f"sqlite+aiosqlite:///{db}")


@needs_postgres
def test_the_ledger_machine_on_postgres(postgres_schema: str | None) -> None:
    assert postgres_schema is not None
    try:
        _run(postgres_schema)
    finally:
        asyncio.run(_empty_postgres(postgres_schema))


async def _empty_postgres(url: str) -> None:
    engine = create_engine(make_settings(url))
    try:
        async with engine.begin() as conn:
            for table in (ViolationTransition, Violation, LedgerHead):
                await conn.execute(sa.delete(table))
    finally:
        await engine.dispose()
