"""A state machine that drives the orchestration the way a county's desks do: admit, report
deposits, settle, retry a settlement, reverse it, reverse the admission, rectify what was found,
and the money after the slip: the patient pays the share (retried too), a fund closes a month
(retried too). After every step it reads what committed and checks the ledger's invariants, and
that the shares and the closed statements hold what the answers the machine got add up to.

Time: settlements and reversals are stamped with the clock (`created_at`, which dates their
statement lines); a close is given the instant it is made at (`now`), a month over, as a fund
closes it after the month's end. So the machine closes the month it settles in, and the months
after, and whatever it settles or reverses after a close lands in a month already closed and is
carried into the next close as an adjustment, as a late commit is (docs/clearing.md).

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
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
)

from service.admissions.lifecycle import report_deposit, reverse_admission
from service.admissions.schemas import AdmissionCreate, DepositCreate
from service.admissions.service import AdmissionContext, admit
from service.auth import Principal, Role
from service.base import SQLModel, utcnow
from service.clearing import service as clearing
from service.clearing.periods import Period
from service.db import create_engine, create_sessionmaker
from service.errors import ServiceError
from service.identity import IdHasher
from service.policy_versions.catalog import PolicyCatalog
from service.receivables import service as receivables
from service.receivables.schemas import ReceivablePaymentCreate
from service.receivables.terms import PREPAYMENT_DEMANDED
from service.recorded import Recorded
from service.regions.directory import HospitalDirectory
from service.regions.models import Hospital
from service.registry.schemas import CategorySpan, FamilyDoctor, PersonRecord
from service.settlements import service as settlements
from service.settlements.accumulators import Scope
from service.settlements.errors import LaterStageActive, VisitAlreadySettled, VisitNotAdmitted
from service.settlements.schemas import (
    BillCreate,
    ReversalCreate,
    SettlementCreate,
    SettlementPublic,
)
from service.unit_of_work import SqlUnitOfWork, unit_of_work
from service.violations.rectification import move
from tests import factories
from tests.fakes.collaborators import MemoryRegistry, admission_context
from tests.unit_of_work.money import (
    Clearing,
    Paid,
    Share,
    Statement,
    Totals,
    active_share,
    fen,
    shifted,
)

T = TypeVar("T")
CHINA = timezone(timedelta(hours=8))
HOSPITAL = factories.COUNTY_HOSPITAL  # each run registers a twin of it (`Backend.add_hospital`)
ADMITTED_AT = datetime(2024, 3, 1, 8, 0, tzinfo=CHINA)
DISCHARGED_AT = datetime(2024, 3, 10, 10, 0, tzinfo=CHINA)
# A patient pays in the ward (before any discharge the machine settles: a payment demanded up
# front) or well after it (a stay has at most a step's worth of days past DISCHARGED_AT).
PAID_IN_THE_WARD = datetime(2024, 3, 5, 9, 0, tzinfo=CHINA)
PAID_AFTER = datetime(2024, 6, 1, 9, 0, tzinfo=CHINA)
AUDITOR = Principal(key_id=2, role=Role.AUDITOR, region_prefix="99")
# The funds whose layers the demo county's settlements reach, the basic pool most often.
CLOSING = ("F99-BASIC", "F99-AID", "F99-BASIC", "F99-SUPPLEMENT", "F99-CRITICAL")


def desk(hospital_code: str) -> Principal:
    return Principal(key_id=1, role=Role.HOSPITAL, hospital_code=hospital_code)


def fund_key(code: str) -> Principal:
    return Principal(key_id=3, role=Role.FUND, region_prefix="99", fund_code=code)


# (category, has a family doctor): covered with a doctor, covered without one (a finding at
# admission), not covered at all.
PEOPLE = (("registered_poor", True), ("minimum_living", False), (None, True))
# The next status of a violation, who takes the step (the violation's hospital's desk, or an
# auditor) and the note (docs: 挂账销号).
NEXT_STEP = {
    "open": ("rectifying", "desk", ""),
    "rectifying": ("rectified", "desk", ""),
    "rectified": ("verified", "auditor", ""),
    "verified": ("open", "auditor", "found again"),
}


def next_step(status: str, hospital_code: str) -> tuple[str, Principal, str]:
    to_status, who, note = NEXT_STEP[status]
    return to_status, desk(hospital_code) if who == "desk" else AUDITOR, note


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

    def add_hospital(self, code: str) -> None:
        """Register a twin of HOSPITAL under `code`: a run's own, so runs sharing a database
        never share a fund's monthly statement."""
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

    def add_hospital(self, code: str) -> None:
        async def add() -> None:
            async with self.maker() as session:
                model = await session.get(Hospital, HOSPITAL)
                assert model is not None
                session.add(Hospital.model_validate(model.model_dump() | {"code": code}))
                await session.commit()

        self.loop.run_until_complete(add())

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
    discharged: dict[int, datetime] = field(default_factory=dict)  # settlement id -> as sent
    prepaid: set[str] = field(default_factory=set)  # HIS ids of payments taken in the ward


@dataclass(frozen=True)
class Settled:
    visit_id: str
    body: SettlementCreate
    settlement_id: int


class OrchestrationMachine(RuleBasedStateMachine):
    backend: ClassVar[Callable[[], Backend]]
    checked: ClassVar[int] = 0  # invariant checks passed, per machine class (tests assert on it)

    carried: ClassVar[int] = 0  # reversals closed as an adjustment after their settlement's close
    paid_back: ClassVar[int] = 0  # shares paid, then cancelled by the settlement's reversal

    visits = Bundle("visits")
    settled = Bundle("settled")

    def __init__(self) -> None:
        super().__init__()
        self.b = type(self).backend()
        self.run = next(_runs)
        self.hospital = f"HM{self.run:05d}"
        self.b.add_hospital(self.hospital)
        self.desk = desk(self.hospital)
        self.n = 0
        self.steps = itertools.count(1)  # orders settlements, reversals and closes
        self.model: dict[str, VisitModel] = {}
        self.paid: dict[int, Paid] = {}  # settlement id -> its money, from its answers
        self.shares: dict[int, Share] = {}  # settlement id -> its share, once looked up
        self.accepted: list[tuple[int, ReceivablePaymentCreate]] = []
        self.clearing = Clearing()
        # The month the machine settles in; it closes from the one before to three after.
        self.month = Period.of(utcnow())
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
                hospital_code=self.hospital,
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
            replayed = self._report(visit_id, report).replayed
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
        assert self._report(visit_id, report).replayed

    def _report(self, visit_id: str, report: DepositCreate) -> Recorded[dict[str, Any]]:
        return self.call(
            lambda uow: report_deposit(
                uow,
                catalog=self.b.catalog,
                window=self.b.admission_context.window,
                hospital_code=self.hospital,
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
        event(f"settle: stored, {len(outcome.entry.violations_booked)} violations")
        assert not outcome.replayed
        assert not visit.reversed, "settled a reversed admission"
        assert visit.active is None, "a second active settlement"
        settlement_id = outcome.entry.id
        assert settlement_id is not None
        assert outcome.entry.stage == len(visit.stages) + 1
        if mid:
            event(f"settle: stage {len(visit.stages) + 1}")
            visit.stages.append(settlement_id)
        else:
            visit.active = settlement_id
        visit.settlements += 1
        visit.bills[settlement_id] = (in_policy + out_of_policy) * 100
        visit.discharged[settlement_id] = body.discharged_at
        self.paid[settlement_id] = Paid.of(outcome.entry, next(self.steps))
        return Settled(visit_id, body, settlement_id)

    def _settle(self, body: SettlementCreate) -> Recorded[SettlementPublic]:
        return self.call(
            lambda uow: settlements.create(
                uow,
                catalog=self.b.catalog,
                hospitals=self.b.hospitals,
                hospital_code=self.hospital,
                window=self.b.admission_context.window,
                body=body,
            )
        )

    @rule(s=settled)
    def retry_settlement(self, s: Settled) -> None:
        outcome = self._settle(s.body)
        assert outcome.replayed
        assert outcome.entry.id == s.settlement_id

    @rule(s=settled)
    def reverse(self, s: Settled) -> None:
        # The same HIS reversal id every time: a second reversal is a replay, not a new one.
        request = ReversalCreate(reason="wrong bill", his_reversal_id=f"RV{s.settlement_id}")
        visit = self.model[s.visit_id]
        active = [*visit.stages, *([visit.active] if visit.active else [])]
        later = [i for i in active if i > s.settlement_id]
        try:
            outcome = self.call(
                lambda uow: settlements.reverse(
                    uow,
                    hospital_code=self.hospital,
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
        answer = outcome.entry
        assert answer.status == "reversed"
        assert not (s.settlement_id in active and later), "reversed a stage before a later one"
        # A settlement no longer active was reversed by this same request before: its replay.
        assert outcome.replayed == (s.settlement_id not in active), "replay told wrongly"
        event("reverse: new" if s.settlement_id in active else "reverse: replay")
        paid = self.paid[s.settlement_id]
        assert answer.reversal is not None
        if paid.reversed_at is None:
            assert s.settlement_id in active, "a settlement reversed twice"
            paid.reversed_at, paid.reversed_step = answer.reversal.created_at, next(self.steps)
            if any(self.clearing.closed_keys(fund) for fund in paid.own):
                event("reverse: after a close of its fund")
            share = self.shares.get(s.settlement_id)
            if share is not None and share.paid:
                type(self).paid_back += 1
                event("reverse: a share paid, to refund")
        assert answer.reversal.created_at == paid.reversed_at, "the reversal's instant moved"
        if visit.active == s.settlement_id:
            visit.active = None
        if s.settlement_id in visit.stages:
            visit.stages.remove(s.settlement_id)

    # --- the money after the slip -------------------------------------------------------------

    @rule(s=settled, how=st.sampled_from(["part", "rest", "over"]), in_the_ward=st.booleans())
    def pay(self, s: Settled, how: str, in_the_ward: bool) -> None:
        """The patient pays part of the share, the rest of it, or a fen more than is left."""
        share = self._share(s)
        if share is None:
            event("pay: no share to pay")
            return
        left = share.due - share.paid
        amount = {"part": max(left // 2, 1), "rest": max(left, 1), "over": left + 1}[how]
        body = ReceivablePaymentCreate(
            his_payment_id=self._next("P"),
            method="cash",
            receipt_no=self._next("RC"),
            amount=Decimal(amount) / 100,
            paid_at=PAID_IN_THE_WARD if in_the_ward else PAID_AFTER,
        )
        cancelled = self.paid[s.settlement_id].reversed_at is not None
        if cancelled:
            expected = "receivable_cancelled"
        elif left == 0:
            expected = "receivable_paid"
        elif amount > left:
            expected = "payment_exceeds_due"
        else:
            expected = None
        try:
            paid = self._pay(share, body)
        except ServiceError as e:
            refused: str | None = e.code
        else:
            refused = None
        assert refused == expected, f"payment of {amount} on {share}: {refused} != {expected}"
        if refused is not None:
            event(f"pay: refused, {refused}")
            return
        answer = paid.entry
        assert not paid.replayed
        share.payments[body.his_payment_id] = amount
        self.accepted.append((s.settlement_id, body))
        visit = self.model[s.visit_id]
        discharged = self._discharge_of(s)
        if discharged is None or body.paid_at < discharged:
            event("pay: before the discharge")
            visit.prepaid.add(body.his_payment_id)
        event("pay: in full" if share.paid == share.due else "pay: in part")
        assert fen(answer.paid) == share.paid, f"paid {answer.paid} != payments {share.payments}"
        assert answer.status == ("paid" if share.paid == share.due else "open"), answer.status

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def retry_payment(self, data: st.DataObject) -> None:
        """The HIS sends an accepted payment again: answered as before, counted once."""
        settlement_id, body = data.draw(st.sampled_from(self.accepted))
        share = self.shares[settlement_id]
        paid = self._pay(share, body)
        answer = paid.entry
        assert paid.replayed, "a retried payment was taken as a new one"
        assert fen(answer.paid) == share.paid, (
            f"receivable {share.receivable_id}: paid {answer.paid} != the payments accepted "
            f"{share.payments}"
        )

    def _share(self, s: Settled) -> Share | None:
        """The settlement's share as the desk finds it (once; then as the machine knows it)."""
        if s.settlement_id in self.shares:
            return self.shares[s.settlement_id]
        found = self.call(
            lambda uow: receivables.for_settlement(
                uow, principal=self.desk, settlement_id=s.settlement_id
            )
        )
        if found is None:
            return None
        due = fen(found.amount_due)
        assert due == self.paid[s.settlement_id].psn_cash, "a share that is not the slip's"
        assert fen(found.paid) == 0, f"receivable {found.id} paid before any payment"
        share = self.shares[s.settlement_id] = Share(found.id, due)
        return share

    def _pay(self, share: Share, body: ReceivablePaymentCreate) -> Recorded[Any]:
        return self.call(
            lambda uow: receivables.pay(
                uow,
                principal=self.desk,
                receivable_id=share.receivable_id,
                body=body,
                window=self.b.admission_context.window,
            )
        )

    def _discharge_of(self, s: Settled) -> datetime | None:
        """The discharge the share is owed from: a final's own; a stage's, its stay's active
        final's (none while the stay is in the ward)."""
        visit = self.model[s.visit_id]
        if s.settlement_id in visit.stages:
            return None if visit.active is None else visit.discharged[visit.active]
        return visit.discharged[s.settlement_id]

    @precondition(lambda self: self.paid)  # a month with nothing in it closes too, but rarely
    @rule(
        pick=st.integers(0, 99),
        which=st.sampled_from(["next", "next", "last", "skip", "before", "not over"]),
        again=st.booleans(),
    )
    def close(self, pick: int, which: str, again: bool) -> None:
        """关账: a fund (one with lines to close, if any) closes the month after its last
        close (at first the month the machine settles in), once the month is over; or closes
        the last one again, skips a month, closes the month before the machine's, or closes
        as of the clock."""
        # a fund with lines no close has taken yet, if there is one: a close that takes them
        funds = [f for f in CLOSING if self.clearing.pending(self.paid, f)] or list(CLOSING)
        fund = funds[pick % len(funds)]
        last = self.clearing.last(fund)
        when = {
            "next": self.month if last is None else last.next(),
            "last": self.month if last is None else last,
            "skip": shifted(self.month if last is None else last, 2),
            "before": shifted(self.month, -1),
            "not over": self.month,
        }[which]
        now = None if which == "not over" else when.end
        expected = self.clearing.predict(self.paid, fund, when, now or utcnow())
        try:
            closed = self._close(fund, when, now)
        except ServiceError as e:
            refused: str | None = e.code
        else:
            refused = None
        if isinstance(expected, str) or refused is not None:
            assert refused == expected, f"close {fund} {when}: {refused} != {expected}"
            event(f"close: refused, {refused}")
            return
        answer, created = closed.entry, not closed.replayed
        assert created == (expected.statement_id is None), f"close {fund} {when}: {created}"
        lines = frozenset((x.kind, x.settlement_id, x.adjustment) for x in answer.lines)
        assert lines == expected.lines, f"statement {fund} {when}: lines {lines} != {expected}"
        _same_totals(f"statement {fund} {when}", _answered(answer), expected.totals)
        if not created:
            assert answer.id == expected.statement_id
            event("close: closed before")
            return
        earlier = self.clearing.closed_keys(fund)
        carried = [k for k in lines if k[0] == "reversal" and ("settlement", k[1]) in earlier]
        if carried:
            type(self).carried += 1
            event("close: a reversal of a settlement closed before, as an adjustment")
        self.clearing.record(
            fund, when, Statement(answer.id, lines, expected.totals), next(self.steps)
        )
        event(f"close: closed, {min(len(lines), 3)}{'+' * (len(lines) > 3)} lines")
        if again:
            retried = self._close(fund, when, now)
            twin = retried.entry
            assert retried.replayed, "a retried close closed again"
            assert (twin.id, twin.content_hash) == (answer.id, answer.content_hash)

    def _close(self, fund: str, when: Period, now: datetime | None) -> Recorded[Any]:
        return self.call(
            lambda uow: clearing.close(
                uow,
                principal=fund_key(fund),
                fund_code=fund,
                hospital_code=self.hospital,
                period=str(when),
                now=now,
            )
        )

    @rule(visit_id=visits)
    def reverse_the_admission(self, visit_id: str) -> None:
        visit = self.model[visit_id]
        try:
            reversal = self.call(
                lambda uow: reverse_admission(
                    uow,
                    hospital_code=self.hospital,
                    actor="machine",
                    visit_id=visit_id,
                    reason="x",
                )
            )
        except ServiceError as e:
            refused = e.code
        else:
            refused = None
            assert reversal.replayed == visit.reversed, "a second reversal not told as a replay"
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
            found = await uow.violations.of_visit(hospital_code=self.hospital, visit_id=visit_id)
            if not found:
                return
            violation = found[pick % len(found)]
            to_status, principal, note = next_step(violation.status, self.hospital)
            moved = await move(
                uow, principal=principal, violation=violation, to_status=to_status, note=note
            )
            assert moved.entry.to_status == to_status
            assert not moved.replayed, "a step from one status to another taken as a replay"
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
                visit_id=visit_id, hospital_code=self.hospital, principal=self.desk, limit=1000
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
                await _check_receivable(uow, row, reversal, final, self.shares.get(row.id))
                scope = Scope(row.person_key, row.pool, row.year)
                expected[scope].update(dict.fromkeys(row.deltas, 0))
                if reversal is None:  # a reversed settlement must count for nothing
                    expected[scope].update(row.deltas)
            await _check_violations(uow, self.hospital, visit_id, rows, visit.prepaid)
        for scope, wanted in expected.items():
            stored = await uow.settlements.totals(scope)
            moved = {k: v for k, v in stored.items() if v}
            assert moved == {k: v for k, v in wanted.items() if v}, (
                f"accumulators {moved} != active settlements' deltas {dict(wanted)}"
            )
        await self._check_clearing(uow)  # in the same unit: a unit is a copy of every table

    async def _check_clearing(self, uow: Any) -> None:
        """Every closed statement holds what the settlements and reversals it covers paid, per
        the machine's own sums of the answers; and over a fund's closed statements, what its
        active settlements paid, less what no close has taken yet (by the order of the steps)."""
        rows = await uow.clearing.closed_statements(
            principal=AUDITOR, fund_code=None, hospital_code=self.hospital, limit=1000
        )
        stored = {(row.fund_code, row.period): row for row in rows}
        assert stored.keys() == self.clearing.statements.keys(), (
            f"closed statements {sorted(stored)} != closed {sorted(self.clearing.statements)}"
        )
        for (fund, period), model in self.clearing.statements.items():
            row = stored[(fund, period)]
            assert row.id == model.statement_id
            _same_totals(f"statement {fund} {period}", _stored(row), model.totals)
        for fund in {code for code, _ in stored}:
            closed = sum(row.fund_own_fen for row in rows if row.fund_code == fund)
            wanted = active_share(self.paid, fund) - self.clearing.not_yet_closed(self.paid, fund)
            assert closed == wanted, (
                f"{fund}'s closed statements hold {closed}, its active settlements paid "
                f"{active_share(self.paid, fund)} of which {wanted} before its last close"
            )


def _answered(answer: Any) -> Totals:
    return (
        fen(answer.medfee_sumamt),
        fen(answer.fund_pay_sumamt),
        fen(answer.fund_own_amt),
        fen(answer.psn_cash_pay),
        answer.setl_cnt,
        answer.line_count,
    )


def _stored(row: Any) -> Totals:
    return (
        row.medfee_fen,
        row.fund_pay_fen,
        row.fund_own_fen,
        row.psn_cash_fen,
        row.settlement_count,
        row.line_count,
    )


def _same_totals(what: str, got: Totals, wanted: Totals) -> None:
    names = ("medfee", "fund_pay", "fund_own", "psn_cash", "settlements", "lines")
    assert got == wanted, (
        f"{what}: {dict(zip(names, got, strict=True))} != what the settlements it covers paid "
        f"{dict(zip(names, wanted, strict=True))}"
    )


async def _check_receivable(
    uow: Any, row: Any, reversal: Any, final: Any, share: Share | None
) -> None:
    """The patient's share under pay-after-treatment (ADR 0014) moves with its settlement: opened
    for the whole share when one is left, cancelled by the reversal, never for nothing; an
    active stage's share is owed from the stay's discharge, the active final settlement's, and
    is not due while there is none (ADR 0025). What it shows paid is the sum of the payments
    the machine saw accepted (none before it looked the share up), never more than is due; a
    cancelled share took none after its reversal and owes back what was paid before."""
    receivable = await uow.receivables.by_settlement(row.id)
    if receivable is None:
        assert share is None, f"settlement {row.id}: its share {share} is gone"
        return
    event("receivable: " + receivable.status)
    assert row.patient_pays_fen > 0, f"a receivable for settlement {row.id} with no share"
    assert receivable.amount_due_fen == row.patient_pays_fen, (receivable, row.patient_pays_fen)
    paid = 0 if share is None else share.paid
    assert receivable.paid_fen == paid, (
        f"receivable {receivable.id}: paid {receivable.paid_fen} != the payments accepted {share}"
    )
    assert receivable.paid_fen <= receivable.amount_due_fen
    if share is not None and share.payments:
        stored = {
            p.his_payment_id: p.amount_fen
            for p in await uow.receivables.payments(share.receivable_id)
        }
        assert stored == share.payments, f"receivable {receivable.id}: {stored} != {share}"
    if reversal is None:
        wanted = "paid" if paid == receivable.amount_due_fen else "open"
        assert receivable.status == wanted, f"settlement {row.id}: {receivable.status}"
        owed_from = final.discharged_at if row.mid_settlement and final else row.discharged_at
        if row.mid_settlement and final is None:
            owed_from = None
        event("receivable: " + ("waits for the discharge" if owed_from is None else "due"))
        assert receivable.discharged_at == owed_from, (row.id, receivable.discharged_at)
        assert (receivable.due_on is None) == (owed_from is None), (row.id, receivable.due_on)
    else:
        assert receivable.status == "cancelled", f"reversed {row.id}: {receivable.status}"
        assert receivable.reversal_id == reversal.id
        assert receivable.refund_due_fen == paid, f"receivable {receivable.id}: refund {paid}"


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


async def _check_violations(
    uow: Any, hospital_code: str, visit_id: str, rows: list[Any], prepaid: set[str]
) -> None:
    """Every violation belongs to an admission, a deposit, a settlement or a payment that
    committed; a payment taken before the stay's discharge booked one (PREPAYMENT_DEMANDED),
    no other payment did."""
    admission = await uow.admissions.find(hospital_code=hospital_code, visit_id=visit_id)
    assert admission is not None
    settlement_ids = {str(row.id) for row, _ in rows}
    booked = []
    for v in await uow.violations.of_visit(hospital_code=hospital_code, visit_id=visit_id):
        if v.source == "admission":
            assert v.source_ref == f"admission:{admission.id}"
        elif v.source == "settlement":
            assert v.source_ref in settlement_ids, f"violation {v.id} of a lost settlement"
        elif v.source == "receivable":
            assert v.rule_code == PREPAYMENT_DEMANDED, v.rule_code
            booked.append(v.evidence["his_payment_id"])
        else:
            assert v.source == "deposit", v.source
            deposit = await uow.admissions.find_deposit(admission.id, v.evidence["receipt_no"])
            assert deposit is not None
            assert v.source_ref == f"deposit:{deposit.id}"
            assert deposit.violation_id == v.id
    assert sorted(booked) == sorted(prepaid), f"{visit_id}: booked {booked} != paid in the ward"
