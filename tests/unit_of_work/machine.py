"""A state machine that drives the orchestration the way a county's desks do: admit, report
deposits, settle, retry a settlement, reverse it, reverse the admission, rectify what was found.
After every step it reads what committed and checks the ledger's invariants.

It runs the services themselves (no HTTP), each call in its own unit of work, against whatever
`Backend` it is given: in-memory stores, SQLite or PostgreSQL (tests/unit_of_work/test_machine.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar

import sqlalchemy as sa
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from service.admissions.lifecycle import report_deposit, reverse_admission
from service.admissions.schemas import AdmissionCreate, DepositCreate
from service.admissions.service import AdmissionContext, admit
from service.auth import Principal, Role
from service.base import SQLModel
from service.db import create_engine, create_sessionmaker
from service.errors import ServiceError
from service.identity import IdHasher
from service.policy_versions.catalog import PolicyCatalog
from service.regions.directory import HospitalDirectory
from service.registry.schemas import CategorySpan, FamilyDoctor, PersonRecord
from service.settlements import service as settlements
from service.settlements.accumulators import Scope
from service.settlements.errors import LaterStageActive, VisitAlreadySettled, VisitNotAdmitted
from service.settlements.schemas import BillCreate, ReversalCreate, SettlementCreate
from service.unit_of_work import SqlUnitOfWork, unit_of_work
from service.violations.rectification import move
from tests import factories
from tests.fakes.collaborators import MemoryRegistry, admission_context

T = TypeVar("T")
CHINA = timezone(timedelta(hours=8))
HOSPITAL = factories.COUNTY_HOSPITAL
ADMITTED_AT = datetime(2024, 3, 1, 8, 0, tzinfo=CHINA)
DISCHARGED_AT = datetime(2024, 3, 10, 10, 0, tzinfo=CHINA)
HOSPITAL_DESK = Principal(key_id=1, role=Role.HOSPITAL, hospital_code=HOSPITAL)
AUDITOR = Principal(key_id=2, role=Role.AUDITOR, region_prefix="99")

# (category, has a family doctor): covered with a doctor, covered without one (a finding at
# admission), not covered at all.
PEOPLE = (("registered_poor", True), ("minimum_living", False), (None, True))
# The next status of a violation, and who takes the step (docs: 挂账销号).
NEXT_STEP = {
    "open": ("rectifying", HOSPITAL_DESK, ""),
    "rectifying": ("rectified", HOSPITAL_DESK, ""),
    "rectified": ("verified", AUDITOR, ""),
    "verified": ("open", AUDITOR, "found again"),
}

_runs = itertools.count(1)
HASHER = IdHasher(b"machine-test-key")


class UnitOfWorkLike(Protocol):
    settlements: Any
    admissions: Any
    violations: Any
    session: Any


class Backend(Protocol):
    """Where the machine's units of work come from, and what the services read beside them."""

    loop: asyncio.AbstractEventLoop
    registry: MemoryRegistry
    admission_context: AdmissionContext
    catalog: Any
    hospitals: Any

    def unit(self) -> AbstractAsyncContextManager[Any]:
        """A unit of work that commits at the end of the block, or rolls back on an error."""
        ...


class SqlBackend:
    """A database shared by every run of the machine (runs use distinct people and visits)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, database_url: str) -> None:
        self.loop = loop
        self.engine = create_engine(factories.make_settings(database_url))
        self.maker = create_sessionmaker(self.engine)
        self.registry = MemoryRegistry()
        self.catalog = PolicyCatalog(refresh_seconds=3600)
        self.hospitals = HospitalDirectory()
        self.admission_context = admission_context(
            registry=self.registry, catalog=self.catalog, hospitals=self.hospitals, hasher=HASHER
        )
        loop.run_until_complete(factories.seed_regions(self.maker))
        loop.run_until_complete(factories.seed_shipped_policies(self.maker))

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[SqlUnitOfWork]:
        async with unit_of_work(self.maker) as uow:
            yield uow

    def unit(self) -> Any:
        return self._unit()

    def close(self, *, truncate: bool) -> None:
        async def _close() -> None:
            if truncate:  # PostgreSQL is shared by the suite: leave it as the fixtures expect
                names = ", ".join(t.name for t in reversed(SQLModel.metadata.sorted_tables))
                async with self.engine.begin() as conn:
                    await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await self.engine.dispose()

        self.loop.run_until_complete(_close())


@dataclass
class VisitModel:
    """What the machine expects of one visit, from the answers it got."""

    person: int
    reversed: bool = False
    active: int | None = None  # the active (final) settlement's id
    stages: list[int] = field(default_factory=list)  # active mid-settlements (中途结算), in order
    settlements: int = 0  # settlements stored (replays excluded)
    bills: dict[int, int] = field(default_factory=dict)  # settlement id -> bill total in fen


@dataclass(frozen=True)
class Settled:
    visit_id: str
    body: SettlementCreate
    settlement_id: int


class OrchestrationMachine(RuleBasedStateMachine):
    backend: ClassVar[Callable[[], Backend]]
    checked: ClassVar[int] = 0  # invariant checks passed, per machine class (tests assert on it)

    visits = Bundle("visits")
    settled = Bundle("settled")

    def __init__(self) -> None:
        super().__init__()
        self.b = type(self).backend()
        self.run = next(_runs)
        self.n = 0
        self.model: dict[str, VisitModel] = {}
        self.deposits: list[tuple[str, DepositCreate]] = []
        self.residents = [self._resident(i) for i in range(len(PEOPLE))]
        for resident, (category, doctor) in zip(self.residents, PEOPLE, strict=True):
            spans = (CategorySpan(code=category, valid_from=date(2016, 1, 1)),) if category else ()
            self.b.registry.people[resident] = PersonRecord(
                insured_county=factories.COUNTY,
                categories=spans,
                family_doctor=FamilyDoctor(contracted=doctor, valid_to=date(2030, 12, 31)),
            )

    def _resident(self, i: int) -> str:
        # Distinct people in every run, so runs sharing a database never share a person's year.
        n = self.run * len(PEOPLE) + i
        born = date(1940, 1, 1) + timedelta(days=n // 900)
        return factories.resident_id(born=born, seq=n % 900 + 1)

    def _next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.run}-{self.n}"

    def call(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async def in_unit() -> T:
            async with self.b.unit() as uow:
                return await work(uow)

        return self.b.loop.run_until_complete(in_unit())

    # --- the desks -------------------------------------------------------------------------

    @rule(target=visits, person=st.integers(0, len(PEOPLE) - 1), deposit=st.sampled_from("05"))
    def admit(self, person: int, deposit: str) -> str:
        visit_id = self._next("V")
        body = AdmissionCreate(
            visit_id=visit_id,
            id_number=self.residents[person],
            name="张三",
            admitted_at=ADMITTED_AT,
            visit_type="inpatient",
            insured_county=factories.COUNTY,
            deposit_intended=Decimal(deposit) * 100,
        )
        recorded = self.call(
            lambda uow: admit(
                uow,
                ctx=self.b.admission_context,
                hospital_code=HOSPITAL,
                actor="machine",
                body=body,
            )
        )
        assert not recorded.replayed
        self.model[visit_id] = VisitModel(person=person)
        return visit_id

    @rule(visit_id=visits, amount=st.sampled_from(["300.00", "2000.00"]))
    def deposit(self, visit_id: str, amount: str) -> None:
        report = DepositCreate(
            receipt_no=self._next("R"), amount=Decimal(amount), taken_at=ADMITTED_AT
        )
        try:
            _, replayed = self._report(visit_id, report)
        except ServiceError as e:
            refused = e.code
        else:
            refused = None
            assert not replayed
            self.deposits.append((visit_id, report))
        assert (refused is not None) == self.model[visit_id].reversed, f"refused: {refused}"

    @rule(data=st.data())
    def report_deposit_again(self, data: st.DataObject) -> None:
        if not self.deposits:
            return
        visit_id, report = data.draw(st.sampled_from(self.deposits))
        _, replayed = self._report(visit_id, report)
        assert replayed

    def _report(self, visit_id: str, report: DepositCreate) -> tuple[dict[str, Any], bool]:
        return self.call(
            lambda uow: report_deposit(
                uow,
                catalog=self.b.catalog,
                window=self.b.admission_context.window,
                hospital_code=HOSPITAL,
                actor="machine",
                visit_id=visit_id,
                body=report,
            )
        )

    @rule(
        target=settled,
        visit_id=visits,
        in_policy=st.integers(0, 60_000),
        out_of_policy=st.sampled_from([0, 500, 5_000]),
        mode=st.sampled_from(["one_stop", "one_stop", "insurance_only"]),
    )
    def settle(self, visit_id: str, in_policy: int, out_of_policy: int, mode: str) -> Any:
        return self._settle_step(visit_id, in_policy, out_of_policy, mode, mid=False)

    @rule(
        target=settled,
        visit_id=visits,
        in_policy=st.integers(0, 60_000),
        out_of_policy=st.sampled_from([0, 500]),
    )
    def settle_a_stage(self, visit_id: str, in_policy: int, out_of_policy: int) -> Any:
        """中途结算: a stage of a long stay; the next stage or the final one continues it."""
        return self._settle_step(visit_id, in_policy, out_of_policy, "one_stop", mid=True)

    def _settle_step(
        self, visit_id: str, in_policy: int, out_of_policy: int, mode: str, *, mid: bool
    ) -> Any:
        visit = self.model[visit_id]
        body = SettlementCreate(
            visit_id=visit_id,
            his_settlement_id=self._next("S"),
            # each stored settlement of the visit ends a day later: a stage always follows
            discharged_at=DISCHARGED_AT + timedelta(days=visit.settlements),
            mid_settlement=mid,
            bill=BillCreate(
                total=Decimal(in_policy + out_of_policy),
                in_policy=Decimal(in_policy),
                out_of_policy=Decimal(out_of_policy),
            ),
            settlement_mode=mode,
        )
        try:
            outcome = self._settle(body)
        except VisitNotAdmitted:
            event("settle: refused, admission reversed")
            assert visit.reversed
            return multiple()
        except VisitAlreadySettled:
            event("settle: refused, visit still settled")
            assert visit.active is not None
            return multiple()
        event(f"settle: stored, {len(outcome.settlement.violations_booked)} violations")
        assert not outcome.replayed
        assert not visit.reversed, "settled a reversed admission"
        assert visit.active is None, "a second active settlement"
        settlement_id = outcome.settlement.id
        assert settlement_id is not None
        assert outcome.settlement.stage == len(visit.stages) + 1
        if mid:
            event(f"settle: stage {len(visit.stages) + 1}")
            visit.stages.append(settlement_id)
        else:
            visit.active = settlement_id
        visit.settlements += 1
        visit.bills[settlement_id] = (in_policy + out_of_policy) * 100
        return Settled(visit_id, body, settlement_id)

    def _settle(self, body: SettlementCreate) -> settlements.Outcome:
        return self.call(
            lambda uow: settlements.create(
                uow,
                catalog=self.b.catalog,
                hospitals=self.b.hospitals,
                hospital_code=HOSPITAL,
                window=self.b.admission_context.window,
                body=body,
            )
        )

    @rule(s=settled)
    def retry_settlement(self, s: Settled) -> None:
        outcome = self._settle(s.body)
        assert outcome.replayed
        assert outcome.settlement.id == s.settlement_id

    @rule(s=settled)
    def reverse(self, s: Settled) -> None:
        # The same HIS reversal id every time: a second reversal is a replay, not a new one.
        request = ReversalCreate(reason="wrong bill", his_reversal_id=f"RV{s.settlement_id}")
        visit = self.model[s.visit_id]
        active = [*visit.stages, *([visit.active] if visit.active else [])]
        later = [i for i in active if i > s.settlement_id]
        try:
            answer = self.call(
                lambda uow: settlements.reverse(
                    uow,
                    hospital_code=HOSPITAL,
                    settlement_id=s.settlement_id,
                    body=request,
                    actor="machine",
                )
            )
        except LaterStageActive:
            event("reverse: refused, a later stage is active")
            assert s.settlement_id in active, "refused a settlement no longer active"
            assert later, "refused without a later active stage"
            return
        assert answer.status == "reversed"
        assert not (s.settlement_id in active and later), "reversed a stage before a later one"
        event("reverse: new" if s.settlement_id in active else "reverse: replay or old")
        if visit.active == s.settlement_id:
            visit.active = None
        if s.settlement_id in visit.stages:
            visit.stages.remove(s.settlement_id)

    @rule(visit_id=visits)
    def reverse_the_admission(self, visit_id: str) -> None:
        visit = self.model[visit_id]
        try:
            self.call(
                lambda uow: reverse_admission(
                    uow, hospital_code=HOSPITAL, actor="machine", visit_id=visit_id, reason="x"
                )
            )
        except ServiceError as e:
            refused = e.code
        else:
            refused = None
            visit.reversed = True
        # Refused exactly while a settlement (or a stage) is active (it must be reversed first,
        # issue 11 item 5): a reversed admission never keeps a settled visit.
        if visit.active is not None or visit.stages:
            assert refused == "admission_settled", f"reversed a settled admission: {refused}"
            event("reverse the admission: refused, settled")
        else:
            assert refused is None, f"reversal refused: {refused}"

    @rule(visit_id=visits, pick=st.integers(0, 5))
    def rectify(self, visit_id: str, pick: int) -> None:
        async def step(uow: Any) -> None:
            found = await uow.violations.of_visit(hospital_code=HOSPITAL, visit_id=visit_id)
            if not found:
                return
            violation = found[pick % len(found)]
            to_status, principal, note = NEXT_STEP[violation.status]
            moved = await move(
                uow, principal=principal, violation=violation, to_status=to_status, note=note
            )
            assert moved.to_status == to_status
            event(f"rectify: {violation.rule_code} to {to_status}")

        self.call(step)

    # --- what must hold after every step ---------------------------------------------------

    @invariant()
    def ledger_holds(self) -> None:
        self.call(self._check)
        type(self).checked += 1

    async def _check(self, uow: Any) -> None:
        expected: dict[Scope, Counter[str]] = defaultdict(Counter)
        for visit_id, visit in self.model.items():
            rows = await uow.settlements.list_for_visit(
                visit_id=visit_id, hospital_code=HOSPITAL, principal=HOSPITAL_DESK, limit=1000
            )
            active = sorted(row.id for row, reversal in rows if reversal is None)
            finals = [
                row.id for row, reversal in rows if reversal is None and not row.mid_settlement
            ]
            assert len(finals) <= 1, f"{visit_id}: active final settlements {finals}"
            wanted = sorted([*visit.stages, *([visit.active] if visit.active else [])])
            assert active == wanted, f"{visit_id}: {active} != {wanted}"
            his_ids = [row.his_settlement_id for row, _ in rows]
            assert len(rows) == visit.settlements == len(set(his_ids)), (
                f"{visit_id}: a retry stored a second settlement: {his_ids}"
            )
            final = next((row for row, r in rows if r is None and not row.mid_settlement), None)
            for row, reversal in rows:
                _check_money(row, visit.bills[row.id])
                await _check_receivable(uow, row, reversal, final)
                scope = Scope(row.person_key, row.pool, row.year)
                expected[scope].update(dict.fromkeys(row.deltas, 0))
                if reversal is None:  # a reversed settlement must count for nothing
                    expected[scope].update(row.deltas)
            await _check_violations(uow, visit_id, rows)
        for scope, wanted in expected.items():
            stored = await uow.settlements.totals(scope)
            moved = {k: v for k, v in stored.items() if v}
            assert moved == {k: v for k, v in wanted.items() if v}, (
                f"accumulators {moved} != active settlements' deltas {dict(wanted)}"
            )


async def _check_receivable(uow: Any, row: Any, reversal: Any, final: Any) -> None:
    """The patient's share under pay-after-treatment (ADR 0014) moves with its settlement: opened
    for the whole share when one is left, cancelled by the reversal, never for nothing; an
    active stage's share is owed from the stay's discharge, the active final settlement's, and
    is not due while there is none (ADR 0025)."""
    receivable = await uow.receivables.by_settlement(row.id)
    if receivable is None:
        return
    event("receivable: " + receivable.status)
    assert row.patient_pays_fen > 0, f"a receivable for settlement {row.id} with no share"
    assert receivable.amount_due_fen == row.patient_pays_fen, (receivable, row.patient_pays_fen)
    if reversal is None:
        assert receivable.status == "open", f"settlement {row.id}: {receivable.status}"
        owed_from = final.discharged_at if row.mid_settlement and final else row.discharged_at
        if row.mid_settlement and final is None:
            owed_from = None
        event("receivable: " + ("waits for the discharge" if owed_from is None else "due"))
        assert receivable.discharged_at == owed_from, (row.id, receivable.discharged_at)
        assert (receivable.due_on is None) == (owed_from is None), (row.id, receivable.due_on)
    else:
        assert receivable.status == "cancelled", f"reversed {row.id}: {receivable.status}"
        assert receivable.reversal_id == reversal.id


def _check_money(row: Any, bill_fen: int) -> None:
    """Layers plus patient equal the bill, to the fen, in the columns and in the stored answer."""
    assert row.total_fen == bill_fen
    assert row.funds_total_fen + row.patient_pays_fen == row.total_fen
    r = row.result

    def fen(name: str) -> int:
        return int(Decimal(r[name]) * 100)

    funds = sum(
        fen(n)
        for n in ("hifp_pay", "hifmi_pay", "maf_pay", "hifes_pay", "hosp_part_amt", "oth_pay")
    )
    assert funds == fen("fund_pay_sumamt")
    assert funds + fen("psn_part_amt") == fen("medfee_sumamt") == bill_fen
    layers = sum(int(Decimal(layer["amount"]) * 100) for layer in r["layers"])
    assert layers == funds, f"layers {layers} != funds {funds}"


async def _check_violations(uow: Any, visit_id: str, rows: list[Any]) -> None:
    """Every violation belongs to an admission, a deposit or a settlement that committed."""
    admission = await uow.admissions.find(hospital_code=HOSPITAL, visit_id=visit_id)
    assert admission is not None
    settlement_ids = {str(row.id) for row, _ in rows}
    for v in await uow.violations.of_visit(hospital_code=HOSPITAL, visit_id=visit_id):
        if v.source == "admission":
            assert v.source_ref == f"admission:{admission.id}"
        elif v.source == "settlement":
            assert v.source_ref in settlement_ids, f"violation {v.id} of a lost settlement"
        else:
            assert v.source == "deposit", v.source
            deposit = await uow.admissions.find_deposit(admission.id, v.evidence["receipt_no"])
            assert deposit is not None
            assert v.source_ref == f"deposit:{deposit.id}"
            assert deposit.violation_id == v.id
