"""In-memory stores and unit of work, with the same interface as the SQL ones
(service/unit_of_work.py), so admission, settlement and reversal orchestration run without a
database.

Rows are kept as plain dicts. A unit of work works on a copy of the committed tables and
publishes it on commit, so a rolled-back unit leaves nothing behind, as a transaction would.
The unique constraints the services rely on raise `Duplicate`, and the accumulators' CHECK
(value_fen >= 0) raises `CheckViolation`.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlmodel import SQLModel

from service.admissions.models import Admission, AdmissionDeposit, AdmissionEvent
from service.auth.principal import Principal
from service.db import Duplicate
from service.errors import ServiceError
from service.receivables.models import DefaulterMark, Receivable
from service.settlements.accumulators import Scope, moved_values
from service.settlements.models import Settlement, SettlementReversal
from service.settlements.prior import OtherStay
from service.settlements.visits import AdmittedVisit, Earlier
from service.violations.ledger import (
    Finding,
    StatusChange,
    next_transition,
    next_violation,
    seal,
)
from service.violations.models import GENESIS_HASH, Violation, ViolationTransition

T = TypeVar("T")
Row = dict[str, Any]


class CheckViolation(Exception):
    """An accumulator would go below zero (the table's CHECK constraint)."""


@dataclass
class Tables:
    admissions: dict[int, Row] = field(default_factory=dict)
    deposits: dict[int, Row] = field(default_factory=dict)
    events: dict[int, Row] = field(default_factory=dict)
    settlements: dict[int, Row] = field(default_factory=dict)
    reversals: dict[int, Row] = field(default_factory=dict)  # by reversal id
    accumulators: dict[tuple[str, str, int, str], int] = field(default_factory=dict)
    violations: dict[int, Row] = field(default_factory=dict)
    transitions: dict[int, Row] = field(default_factory=dict)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    receivables: dict[int, Row] = field(default_factory=dict)
    defaulter_marks: dict[int, Row] = field(default_factory=dict)
    last_id: int = 0

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id


def _row(model: SQLModel) -> Row:
    return {name: copy.deepcopy(getattr(model, name)) for name in type(model).model_fields}


class MemoryDatabase:
    """What has committed."""

    def __init__(self) -> None:
        self.committed = Tables()


class _Store:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def t(self) -> Tables:
        return self._uow.tables


class MemorySettlementStore(_Store):
    async def read_visit(
        self, *, hospital_code: str, visit_id: str, lock: bool = False
    ) -> AdmittedVisit | None:
        a = next(
            (
                r
                for r in self.t.admissions.values()
                if (r["hospital_code"], r["visit_id"]) == (hospital_code, visit_id)
            ),
            None,
        )
        if a is None:
            return None
        reversed_ = {r["settlement_id"]: i for i, r in self.t.reversals.items()}
        mine = [
            s
            for s in self.t.settlements.values()
            if (s["hospital_code"], s["visit_id"]) == (hospital_code, visit_id)
        ]
        history = tuple(
            Earlier(
                s["id"],
                visit_id,
                s["his_settlement_id"],
                s["visit_seq"],
                s["request_hash"],
                reversed_.get(s["id"]),
                bool(s.get("mid_settlement")),
                s["discharged_at"],
            )
            for s in sorted(mine, key=lambda s: -s["visit_seq"])
        )
        return AdmittedVisit(
            id=a["id"],
            hospital_code=hospital_code,
            county_code=a["county_code"],
            visit_id=visit_id,
            state=a["state"],
            person_key=a["person_key"],
            person_masked=a["person_masked"],
            insured_county=a["insured_county"],
            visit_type=a["visit_type"],
            admitted_at=a["admitted_at"],
            location=a["location"],
            referred=a["referred"],
            categories=frozenset(a["categories"] or ()),
            history=history,
        )

    def _key(self, scope: Scope, key: str) -> tuple[str, str, int, str]:
        return (scope.person_key, scope.pool, scope.year, key)

    async def read_accumulators(self, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
        acc = self.t.accumulators
        return {k: acc[self._key(scope, k)] for k in set(keys) if self._key(scope, k) in acc}

    async def lock_accumulators(self, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
        for k in sorted(set(keys)):
            self.t.accumulators.setdefault(self._key(scope, k), 0)
        return await self.read_accumulators(scope, keys)

    def _move(self, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]) -> None:
        for key, value in moved_values(locked, deltas).items():
            if value < 0:
                raise CheckViolation(f"{key} would be {value}")
            self.t.accumulators[self._key(scope, key)] = value

    async def move(
        self, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]
    ) -> None:
        self._move(scope, locked, deltas)

    async def record(
        self,
        row: Mapping[str, Any],
        *,
        locked: Mapping[str, int],
        share: Mapping[str, Any] | None = None,
    ) -> int:
        for s in self.t.settlements.values():
            same_visit = (s["hospital_code"], s["visit_id"]) == (
                row["hospital_code"],
                row["visit_id"],
            )
            if same_visit and (
                s["his_settlement_id"] == row["his_settlement_id"]
                or s["visit_seq"] == row["visit_seq"]
            ):
                raise Duplicate("settlements: HIS id or visit position taken")
        scope = Scope(row["person_key"], row["pool"], row["year"])
        self._move(scope, locked, row["deltas"])
        settlement_id = self.t.new_id()
        self.t.settlements[settlement_id] = {**copy.deepcopy(dict(row)), "id": settlement_id}
        if share is not None:
            receivable_id = self.t.new_id()
            self.t.receivables[receivable_id] = {
                **copy.deepcopy(dict(share)),
                "settlement_id": settlement_id,
                "id": receivable_id,
            }
        return settlement_id

    async def get(self, settlement_id: int) -> Settlement | None:
        row = self.t.settlements.get(settlement_id)
        return None if row is None else Settlement(**copy.deepcopy(row))

    async def reversal_of(self, settlement_id: int) -> SettlementReversal | None:
        for row in self.t.reversals.values():
            if row["settlement_id"] == settlement_id:
                return SettlementReversal(**copy.deepcopy(row))
        return None

    async def book_reversal(
        self, reversal: SettlementReversal, *, scope: Scope, locked: Mapping[str, int]
    ) -> SettlementReversal:
        if any(r["settlement_id"] == reversal.settlement_id for r in self.t.reversals.values()):
            raise Duplicate("settlement_reversals: settlement already reversed")
        self._move(scope, locked, reversal.deltas)
        reversal.id = self.t.new_id()
        self.t.reversals[reversal.id] = _row(reversal)
        return reversal

    async def others_in_years(
        self, scope: Scope, years: Sequence[int], *, admission_id: int
    ) -> list[OtherStay]:
        reversed_ = {r["settlement_id"] for r in self.t.reversals.values()}
        return [
            OtherStay(
                s["admission_id"], s["hospital_code"], s["year"], s["discharged_at"], s["deltas"]
            )
            for sid, s in sorted(self.t.settlements.items())
            if (s["person_key"], s["pool"]) == (scope.person_key, scope.pool)
            and s["year"] in years
            and s["admission_id"] != admission_id
            and sid not in reversed_
        ]

    async def list_for_visit(
        self,
        *,
        visit_id: str,
        hospital_code: str | None,
        principal: Principal,
        limit: int,
    ) -> list[tuple[Settlement, SettlementReversal | None]]:
        found = []
        for sid in sorted(self.t.settlements):
            s = self.t.settlements[sid]
            if s["visit_id"] != visit_id:
                continue
            if hospital_code is not None and s["hospital_code"] != hospital_code:
                continue
            if not principal.sees_hospital(s["hospital_code"], s["county_code"]):
                continue
            found.append((Settlement(**copy.deepcopy(s)), await self.reversal_of(sid)))
        return found[:limit]

    async def totals(self, scope: Scope) -> dict[str, int]:
        return {
            k[3]: v
            for k, v in self.t.accumulators.items()
            if k[:3] == (scope.person_key, scope.pool, scope.year)
        }

    async def active_discharge(self, admission_id: int) -> datetime | None:
        reversed_ids = {r["settlement_id"] for r in self.t.reversals.values()}
        discharges = [
            s["discharged_at"]
            for sid, s in self.t.settlements.items()
            if s["admission_id"] == admission_id and sid not in reversed_ids
        ]
        return max(discharges, default=None)


class MemoryAdmissionStore(_Store):
    async def insert_once(self, row: dict[str, Any], *, event: Mapping[str, Any]) -> int | None:
        key = (row["hospital_code"], row["visit_id"])
        if any((a["hospital_code"], a["visit_id"]) == key for a in self.t.admissions.values()):
            return None
        admission_id = self.t.new_id()
        self.t.admissions[admission_id] = {**copy.deepcopy(row), "id": admission_id}
        await self.add_event({**event, "admission_id": admission_id})
        return admission_id

    async def insert_unless_marked(
        self, row: dict[str, Any], *, event: Mapping[str, Any]
    ) -> tuple[bool, int | None]:
        marks = self._uow.receivables
        if await marks.is_marked(hospital_code=row["hospital_code"], person_key=row["person_key"]):
            return True, None
        return False, await self.insert_once(row, event=event)

    async def add_event(self, event: dict[str, Any]) -> None:
        event_id = self.t.new_id()
        self.t.events[event_id] = {**copy.deepcopy(event), "id": event_id}

    async def set_response(self, admission_id: int, response: dict[str, Any]) -> None:
        self.t.admissions[admission_id]["response"] = copy.deepcopy(response)

    async def find(
        self, *, hospital_code: str, visit_id: str, for_update: bool = False
    ) -> Admission | None:
        for row in self.t.admissions.values():
            if (row["hospital_code"], row["visit_id"]) == (hospital_code, visit_id):
                return Admission(**copy.deepcopy(row))
        return None

    async def visible(
        self, *, principal: Principal, hospital_code: str, visit_id: str
    ) -> Admission | None:
        found = await self.find(hospital_code=hospital_code, visit_id=visit_id)
        if found is None or not principal.sees_hospital(found.hospital_code, found.county_code):
            return None
        return found

    async def by_id(self, admission_id: int) -> Admission | None:
        row = self.t.admissions.get(admission_id)
        return None if row is None else Admission(**copy.deepcopy(row))

    async def find_deposit(self, admission_id: int, receipt_no: str) -> AdmissionDeposit | None:
        for row in self.t.deposits.values():
            if (row["admission_id"], row["receipt_no"]) == (admission_id, receipt_no):
                return AdmissionDeposit(**copy.deepcopy(row))
        return None

    async def add_deposit(self, deposit: AdmissionDeposit) -> None:
        if await self.find_deposit(deposit.admission_id, deposit.receipt_no) is not None:
            raise Duplicate("admission_deposits: receipt already reported")
        deposit.id = self.t.new_id()
        self.t.deposits[deposit.id] = _row(deposit)

    async def save(self, *rows: SQLModel) -> None:
        tables: dict[type[SQLModel], dict[int, Row]] = {
            Admission: self.t.admissions,
            AdmissionDeposit: self.t.deposits,
            AdmissionEvent: self.t.events,
        }
        for model in rows:
            table = tables[type(model)]
            if getattr(model, "id", None) is None:
                model.id = self.t.new_id()  # type: ignore[attr-defined]
            table[model.id] = _row(model)  # type: ignore[attr-defined]


class MemoryViolationStore(_Store):
    def _head(self, chain: str) -> tuple[int, str]:
        return self.t.heads.get(chain, (0, GENESIS_HASH))

    async def book(self, finding: Finding) -> Violation:
        seq, prev = self._head(finding.county_code)
        violation = next_violation(finding, seq=seq, prev_hash=prev)
        self._append(violation)
        self.t.violations[violation.id] = _row(violation)  # type: ignore[index]
        return violation

    def _append(self, record: Violation | ViolationTransition) -> None:
        """SqlViolationStore._append's twin: the id first, then the hash, then the head."""
        record.id = self.t.new_id()
        self.t.heads[record.chain] = (record.chain_seq, seal(record))

    async def lock_chain(self, chain: str) -> None:
        self.t.heads.setdefault(chain, (0, GENESIS_HASH))

    async def refresh(self, violation: Violation) -> None:
        assert violation.id is not None
        stored = self.t.violations[violation.id]
        violation.status = stored["status"]
        violation.status_changed_at = stored["status_changed_at"]

    async def transition(self, violation: Violation, change: StatusChange) -> ViolationTransition:
        seq, prev = self._head(violation.chain)
        transition = next_transition(violation, change, seq=seq, prev_hash=prev)
        self._append(transition)
        self.t.transitions[transition.id] = _row(transition)  # type: ignore[index]
        assert violation.id is not None
        self.t.violations[violation.id].update(
            status=change.to_status, status_changed_at=transition.at
        )
        violation.status, violation.status_changed_at = change.to_status, transition.at
        return transition

    async def of_visit(self, *, hospital_code: str, visit_id: str) -> list[Violation]:
        return [
            Violation(**copy.deepcopy(row))
            for _, row in sorted(self.t.violations.items())
            if (row["hospital_code"], row["visit_id"]) == (hospital_code, visit_id)
        ]


class MemoryReceivableStore(_Store):
    """What settlement and admission reach of service/receivables: cancelling the patient's
    share with the reversal (the settlement store opens it), and the defaulter mark admission
    reads. The rest
    of the receivables API is tested on the databases (tests/receivables)."""

    async def by_settlement(self, settlement_id: int) -> Receivable | None:
        for row in self.t.receivables.values():
            if row["settlement_id"] == settlement_id:
                return Receivable(**copy.deepcopy(row))
        return None

    async def cancel(
        self, *, settlement_id: int, reversal_id: int, now: datetime
    ) -> tuple[int, int] | None:
        for rid, row in self.t.receivables.items():
            if row["settlement_id"] == settlement_id and row["status"] != "cancelled":
                row.update(
                    status="cancelled",
                    reversal_id=reversal_id,
                    refund_due_fen=row["paid_fen"],
                    cancelled_at=now,
                )
                return rid, row["paid_fen"]
        return None

    async def undischarged(self, settlement_ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
        return [
            (rid, copy.deepcopy(row["terms"]))
            for rid, row in sorted(self.t.receivables.items())
            if row["settlement_id"] in settlement_ids
            and row["due_on"] is None
            and row["status"] != "cancelled"
        ]

    async def set_discharge(self, rows: Sequence[tuple[int, datetime, date]]) -> None:
        for rid, at, due in rows:
            if self.t.receivables[rid]["status"] != "cancelled":
                self.t.receivables[rid].update(discharged_at=at, due_on=due)

    async def clear_discharge(self, settlement_ids: Sequence[int]) -> list[int]:
        cleared = []
        for rid, row in sorted(self.t.receivables.items()):
            due = row["due_on"] is not None and row["status"] != "cancelled"
            if due and row["settlement_id"] in settlement_ids:
                row.update(discharged_at=None, due_on=None)
                cleared.append(rid)
        return cleared

    async def drop_schedules(
        self, receivable_ids: Sequence[int], *, reversal_id: int, now: datetime
    ) -> None:
        """No schedules here: the machine agrees none (tests/receivables has them)."""

    async def get(self, receivable_id: int, *, lock: bool = False) -> Receivable | None:
        row = self.t.receivables.get(receivable_id)
        return None if row is None else Receivable(**copy.deepcopy(row))

    async def marks(self, *, hospital_code: str, person_key: str) -> list[DefaulterMark]:
        """A person's marks at a hospital, oldest first (a cancelled receivable's mark is lifted
        with it)."""
        return [
            DefaulterMark(**copy.deepcopy(row))
            for _, row in sorted(self.t.defaulter_marks.items())
            if (row["hospital_code"], row["person_key"]) == (hospital_code, person_key)
        ]

    async def is_marked(self, *, hospital_code: str, person_key: str) -> bool:
        marks = await self.marks(hospital_code=hospital_code, person_key=person_key)
        return bool(marks) and marks[-1].action == "mark"


class MemoryUnitOfWork:
    """A transaction over a copy of the committed tables."""

    session: Any = None  # the fakes of the catalog and the directory never read it

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self.tables = copy.deepcopy(db.committed)
        self.settlements = MemorySettlementStore(self)
        self.admissions = MemoryAdmissionStore(self)
        self.violations = MemoryViolationStore(self)
        self.receivables = MemoryReceivableStore(self)

    async def run(
        self,
        work: Callable[[], Awaitable[T]],
        *,
        busy: Callable[[], ServiceError] | None = None,
        on_duplicate: Callable[[], Awaitable[T]] | None = None,
    ) -> T:
        try:
            return await work()
        except Duplicate:
            if on_duplicate is None:
                raise
            await self.rollback()
            return await on_duplicate()

    async def commit(self) -> None:
        self._db.committed = self.tables
        self.tables = copy.deepcopy(self.tables)

    async def rollback(self) -> None:
        self.tables = copy.deepcopy(self._db.committed)


@asynccontextmanager
async def memory_unit_of_work(db: MemoryDatabase) -> AsyncIterator[MemoryUnitOfWork]:
    """Like service.unit_of_work.unit_of_work: commit at the end of the block, or nothing."""
    uow = MemoryUnitOfWork(db)
    yield uow
    await uow.commit()
