"""The ledger as the desks and a hostile database administrator use it, step by random step
(issue 11, "Done when"): settlements that book violations, admission reversals, violations
rectified again and again (second and third transitions, verified, reopened), and an UPDATE in
SQL of one column of one stored violation or transition, committed behind the service's back.

After every step, verify must say intact while nothing is tampered, and, once a row is
tampered, BROKEN in exactly that row's chain, naming exactly that record. The desks go on
working on a tampered ledger (new findings and transitions are chained after the edit); the
tampered violation itself is left alone: moving it would put the evidence on the new
transition instead (tests/violations/test_verify.py covers that). A
later step puts the row back, and the ledger must verify intact again.

The desks are the orchestration machine's (tests/unit_of_work/machine.py), whose own checks of
money and findings run while the ledger is untampered.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test
from sqlmodel import col, select

from service.auth import Principal, Role
from service.violations.content import TRANSITION_COVER, VIOLATION_COVER
from service.violations.models import Violation, transitions_table, violations_table
from service.violations.rectification import move
from service.violations.schemas import ChainVerdict, VerifyReport
from service.violations.verify import verify_ledger
from tests.unit_of_work.machine import OrchestrationMachine, SqlBackend, next_step
from tests.violations.ledger_tampering import changed, unchecked

ADMIN = Principal(key_id=0, role=Role.ADMIN)
TABLES = {"violation": violations_table, "transition": transitions_table}
# Every column of both tables but the record's place (chain, chain_seq): moving a record is
# named at the gap it leaves, not at itself (tests/violations/test_coverage.py covers that).
COLUMNS = {
    kind: sorted(c for c in cover if c not in ("chain", "chain_seq"))
    for kind, cover in (("violation", VIOLATION_COVER), ("transition", TRANSITION_COVER))
}
# What the runs reached, so a test can say they reached what they are for.
REACHED: Counter[str] = Counter()
RUNS = settings(
    max_examples=20,
    stateful_step_count=35,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _changed(column: str, value: Any) -> Any:
    """An id no other row has, a status the violation is not in, else `changed`."""
    if column == "id":
        return value + 100_000
    if column == "status":
        return "verified" if value != "verified" else "open"
    return changed(value)


@dataclass(frozen=True)
class Tamper:
    kind: str  # violation or transition
    chain: str
    seq: int
    row_id: int  # the id the row has now (the edited one, when the id was edited)
    column: str
    original: Any
    violation_id: int  # the violation the row is, or the one the transition moves


class LedgerMachine(OrchestrationMachine):
    url: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.tampered: Tamper | None = None
        self.records_when_tampered: int | None = None
        self.moves = 0  # transitions this run has chained

    def teardown(self) -> None:
        if self.tampered is not None:  # the next run starts from an intact ledger
            self.restore()

    # --- the database administrator ----------------------------------------------------------

    # Once this run has chained a transition, so both kinds of record are there to edit.
    @precondition(lambda self: self.tampered is None and self.moves > 0)
    @rule(
        pick=st.integers(0, 999),
        column_of=st.fixed_dictionaries({k: st.sampled_from(v) for k, v in COLUMNS.items()}),
    )
    def tamper(self, pick: int, column_of: dict[str, str]) -> None:
        # An even pick edits a transition, an odd one a violation (the other kind if this run
        # has none of the first); the rest of the pick chooses the record.
        kinds = ("transition", "violation")[::-1] if pick % 2 else ("transition", "violation")
        with unchecked(self.url) as conn:
            found = ((k, conn.execute(self._rows_of_this_run(k)).all()) for k in kinds)
            kind, rows = next(((k, rows) for k, rows in found if rows), (kinds[0], []))
            if not rows:
                return
            table, column = TABLES[kind], column_of[kind]
            row = rows[pick // 2 % len(rows)]
            value = _changed(column, row._mapping[column])
            conn.execute(table.update().where(table.c.id == row.id).values({column: value}))
        event(f"tamper: {kind}.{column}")
        REACHED["tamper"] += 1
        REACHED[f"tamper {kind}"] += 1
        REACHED[f"tamper {kind}.{column}"] += 1
        self.tampered = Tamper(
            kind=kind,
            chain=row.chain,
            seq=row.chain_seq,
            row_id=value if column == "id" else row.id,
            column=column,
            original=row._mapping[column],
            violation_id=row.id if kind == "violation" else row.violation_id,
        )

    def _rows_of_this_run(self, kind: str) -> sa.Select[Any]:
        """The records this run's visits made, oldest first: the same steps pick the same
        record when hypothesis replays them on the shared database."""
        v = violations_table
        ours = sa.select(v.c.id).where(v.c.visit_id.like(f"V{self.run}-%"))
        table = TABLES[kind]
        key = table.c.id if kind == "violation" else table.c.violation_id
        return sa.select(table).where(key.in_(ours)).order_by(table.c.id)

    @precondition(lambda self: self.tampered is not None)
    @rule()
    def restore(self) -> None:
        t = self.tampered
        assert t is not None
        table = TABLES[t.kind]
        with unchecked(self.url) as conn:
            done = conn.execute(
                table.update().where(table.c.id == t.row_id).values({t.column: t.original})
            )
            assert done.rowcount == 1
        self.tampered = None
        self.records_when_tampered = None
        REACHED["restore"] += 1

    # --- the desks: rectify again and again, but never the tampered violation ------------------

    @rule(pick=st.integers(0, 999), times=st.sampled_from([3, 1, 2]))
    def rectify(self, pick: int, times: int) -> None:
        """Move one of this run's violations (any visit's) one to three steps on."""
        left_alone = set()
        if self.tampered is not None and self.tampered.kind == "violation":
            left_alone = {self.tampered.violation_id, self.tampered.row_id}

        async def steps(uow: Any) -> None:
            ours = select(Violation).where(col(Violation.visit_id).like(f"V{self.run}-%"))
            found = [
                v
                for v in (await uow.session.exec(ours.order_by(col(Violation.id)))).all()
                if v.id not in left_alone
            ]
            if not found:
                return
            violation = found[pick % len(found)]
            for _ in range(times):
                to_status, principal, note = next_step(violation.status, self.hospital)
                await move(
                    uow, principal=principal, violation=violation, to_status=to_status, note=note
                )
                self.moves += 1
            count = len(await _transitions_of(uow, violation.id))
            event(f"rectify: a violation's transition number {min(count, 4)}{'+' * (count > 4)}")
            REACHED[f"transition {min(count, 3)}"] += 1

        self.call(steps)

    # --- what must hold after every step -----------------------------------------------------

    @invariant()
    def ledger_holds(self) -> None:
        # The orchestration's own checks read the violations' columns as the service wrote
        # them; on a tampered ledger only verify's verdict is asked.
        if self.tampered is None:
            super().ledger_holds()

    @invariant()
    def verify_names_exactly_the_tampered_record(self) -> None:
        report: VerifyReport = self.call(lambda uow: verify_ledger(uow.session, principal=ADMIN))
        t = self.tampered
        if t is None:
            assert report.intact, report.first_broken
            return
        assert not report.intact, f"{t.kind}.{t.column} edited, verify says intact"
        assert [c.chain for c in report.chains if not c.intact] == [t.chain]
        broken = report.first_broken
        assert broken is not None
        # The back-dated or forged status of a violation is named at the violation itself.
        named = (broken.chain, broken.seq, broken.kind, broken.id)
        assert named == (t.chain, t.seq, t.kind, t.row_id), (t, broken.reason)
        if self.records_when_tampered is None:
            self.records_when_tampered = report.records_checked
        elif report.records_checked > self.records_when_tampered:
            REACHED["records chained after a tamper"] += 1


async def _transitions_of(uow: Any, violation_id: int | None) -> list[Any]:
    t = transitions_table.c
    rows = await uow.session.exec(sa.select(t.id).where(t.violation_id == violation_id))
    return list(rows.all())


def _run(backend: SqlBackend, url: str) -> Counter[str]:
    """Run the machine; what its runs reached (tamper, restore, second and third steps)."""
    machine = type(
        "LedgerMachineOn", (LedgerMachine,), {"backend": staticmethod(lambda: backend), "url": url}
    )
    REACHED.clear()
    run_state_machine_as_test(machine, settings=RUNS)
    return Counter(REACHED)


# Which kind of record and column each run edits depends on what its steps booked; every
# column of both kinds is edited one by one in tests/violations/test_coverage.py.
MUST_REACH = ("tamper", "restore", "transition 2", "transition 3")


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


def test_the_ledger_machine_on_sqlite(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "machine.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    backend = SqlBackend(loop, url)
    try:
        reached = _run(backend, url)
    finally:
        backend.close(truncate=False)
    assert [r for r in MUST_REACH if reached[r] == 0] == [], reached


@pytest.mark.postgres
def test_the_ledger_machine_on_postgres(
    loop: asyncio.AbstractEventLoop, postgres_schema: str | None
) -> None:
    assert postgres_schema is not None
    backend = SqlBackend(loop, postgres_schema)
    try:
        reached = _run(backend, postgres_schema)
    finally:
        backend.close(truncate=True)
    assert [r for r in MUST_REACH if reached[r] == 0] == [], reached


def test_the_machine_catches_a_verify_that_sees_nothing(
    loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Break verify on purpose: every chain reads intact. The machine must find a tamper that
    verify then calls intact."""

    async def blind(session: Any, head: Any, exported: Any = None) -> ChainVerdict:
        return ChainVerdict(chain=head.chain, records=0, intact=True)

    monkeypatch.setattr("service.violations.verify.verify_chain", blind)
    db = tmp_path / "blind.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    backend = SqlBackend(loop, url)
    machine = type(
        "BlindLedgerMachine",
        (LedgerMachine,),
        {"backend": staticmethod(lambda: backend), "url": url},
    )
    finding_only = settings(RUNS, phases=[Phase.generate])  # no shrinking: finding is the point
    try:
        with pytest.raises(AssertionError, match="verify says intact"):
            run_state_machine_as_test(machine, settings=finding_only)
    finally:
        backend.close(truncate=False)
