"""In-memory stores and unit of work, with the same interface as the SQL ones
(service/unit_of_work.py), so admission, settlement and reversal orchestration, the patient's
payments and the funds' monthly close run without a database.

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
from typing import Any, ClassVar, TypeVar

from sqlmodel import SQLModel

from service.admissions.models import Admission, AdmissionDeposit, AdmissionEvent
from service.auth.principal import Principal
from service.clearing.lines import FundRef, Line, SettlementFacts
from service.clearing.models import (
    ClearingPayment,
    ClearingStatement,
    ClearingStatementLine,
    Fund,
)
from service.db import Duplicate
from service.demo import DEMO_FUNDS, DEMO_HOSPITALS
from service.errors import ServiceError
from service.receivables.models import (
    DefaulterMark,
    Instalment,
    Receivable,
    ReceivablePayment,
    Reminder,
)
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
    receivable_payments: dict[int, Row] = field(default_factory=dict)
    instalments: dict[int, Row] = field(default_factory=dict)
    reminders: dict[int, Row] = field(default_factory=dict)
    defaulter_marks: dict[int, Row] = field(default_factory=dict)
    # clearing: funds and hospitals are reference data, seeded as the demo registers them
    funds: dict[str, Row] = field(default_factory=lambda: {f.code: _row(f) for f in DEMO_FUNDS})
    hospitals: dict[str, str] = field(
        default_factory=lambda: {h.code: h.county_code for h in DEMO_HOSPITALS}
    )
    statements: dict[int, Row] = field(default_factory=dict)
    statement_lines: dict[int, Row] = field(default_factory=dict)
    clearing_payments: dict[int, Row] = field(default_factory=dict)
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
            eligible=a.get("eligible"),
            policy_hash=a.get("policy_hash"),
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
        policies_seen: tuple[int | None, int | None],
    ) -> int | None:
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

    async def latest_transition(self, violation_id: int) -> ViolationTransition | None:
        rows = [r for r in self.t.transitions.values() if r["violation_id"] == violation_id]
        if not rows:
            return None
        return ViolationTransition.model_validate(max(rows, key=lambda r: r["chain_seq"]))

    async def of_visit(self, *, hospital_code: str, visit_id: str) -> list[Violation]:
        return [
            Violation(**copy.deepcopy(row))
            for _, row in sorted(self.t.violations.items())
            if (row["hospital_code"], row["visit_id"]) == (hospital_code, visit_id)
        ]


class MemoryReceivableStore(_Store):
    """What settlement and admission reach of service/receivables (cancelling the patient's
    share with the reversal, the settlement store opens it; the defaulter mark admission
    reads), and what a payment of the share reaches (service/receivables/service.py `pay`).
    Schedules, reminders and marks are read here, written only on the databases
    (tests/receivables)."""

    _tables: ClassVar[dict[type[SQLModel], str]] = {
        ReceivablePayment: "receivable_payments",
        Instalment: "instalments",
        Reminder: "reminders",
    }

    async def add(self, row: object) -> None:
        if isinstance(row, ReceivablePayment):
            taken = await self.payment_by_his_id(
                hospital_code=row.hospital_code, his_payment_id=row.his_payment_id
            )
            if taken is not None:
                raise Duplicate("receivable_payments: HIS payment id taken")
        await self.add_all([row])

    async def add_all(self, rows: Sequence[object]) -> None:
        for row in rows:
            assert isinstance(row, SQLModel)
            table: dict[int, Row] = getattr(self.t, self._tables[type(row)])
            row.id = self.t.new_id()
            table[row.id] = _row(row)  # type: ignore[attr-defined]

    async def add_paid(self, *, receivable_id: int, amount_fen: int) -> int | None:
        """The SQL store's guarded UPDATE: only while open and within what is due."""
        row = self.t.receivables.get(receivable_id)
        if row is None or row["status"] != "open":
            return None
        paid = row["paid_fen"] + amount_fen
        if paid > row["amount_due_fen"]:
            return None
        row.update(paid_fen=paid, status="paid" if paid == row["amount_due_fen"] else "open")
        return int(paid)

    async def payment_by_his_id(
        self, *, hospital_code: str, his_payment_id: str
    ) -> ReceivablePayment | None:
        for row in self.t.receivable_payments.values():
            if (row["hospital_code"], row["his_payment_id"]) == (hospital_code, his_payment_id):
                return ReceivablePayment(**copy.deepcopy(row))
        return None

    async def payments(self, receivable_id: int) -> list[ReceivablePayment]:
        return [
            ReceivablePayment(**copy.deepcopy(row))
            for _, row in sorted(self.t.receivable_payments.items())
            if row["receivable_id"] == receivable_id
        ]

    async def instalments(self, receivable_id: int, *, dropped: bool = False) -> list[Instalment]:
        rows = [
            r
            for _, r in sorted(self.t.instalments.items())
            if r["receivable_id"] == receivable_id and (r["dropped_at"] is not None) == dropped
        ]
        if not dropped:
            rows.sort(key=lambda r: r["seq"])
        return [Instalment(**copy.deepcopy(r)) for r in rows]

    async def reminders(self, receivable_id: int) -> list[Reminder]:
        return [
            Reminder(**copy.deepcopy(row))
            for _, row in sorted(self.t.reminders.items())
            if row["receivable_id"] == receivable_id
        ]

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
        for row in self.t.instalments.values():
            if row["receivable_id"] in receivable_ids and row["dropped_at"] is None:
                row.update(dropped_at=now, dropped_by=reversal_id)

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


class MemoryClearingStore(_Store):
    """service/clearing/store.py's ClearingStore for what closing a month, reading a statement
    and a fund's payment of it reach. Reconciliations and the hospital's day totals (NHSA
    3201) are read on the databases only (tests/clearing)."""

    async def funds(self) -> list[Fund]:
        return [Fund(**copy.deepcopy(row)) for _, row in sorted(self.t.funds.items())]

    async def fund(self, code: str, *, lock: bool = False) -> Fund | None:
        row = self.t.funds.get(code)
        return None if row is None else Fund(**copy.deepcopy(row))

    async def add_fund(self, row: Fund) -> None:
        pair = (row.fund_type, row.region_code)
        if row.code in self.t.funds or any(
            (f["fund_type"], f["region_code"]) == pair for f in self.t.funds.values()
        ):
            raise Duplicate("funds: code or (fund_type, region) taken")
        self.t.funds[row.code] = _row(row)

    async def hospital(self, code: str) -> tuple[str, str] | None:
        county = self.t.hospitals.get(code)
        return None if county is None else (code, county)

    def _closed(self, fund_code: str) -> set[tuple[str, int]]:
        return {
            (line["kind"], line["settlement_id"])
            for line in self.t.statement_lines.values()
            if line["fund_code"] == fund_code
        }

    async def settlement_facts(
        self, *, fund: FundRef, hospital_code: str, since: datetime, until: datetime
    ) -> list[SettlementFacts]:
        """The SQL store's query: the hospital's settlements in the fund's region with a line
        dated in [since, until), or an unclosed line dated before `since`."""
        reversals = {r["settlement_id"]: r for r in self.t.reversals.values()}
        closed = self._closed(fund.code)
        found = []
        for sid, s in sorted(self.t.settlements.items()):
            if s["hospital_code"] != hospital_code or not s["pool"].startswith(fund.region_code):
                continue
            r = reversals.get(sid)
            dated = [("settlement", s["created_at"])]
            if r is not None:
                dated.append(("reversal", r["created_at"]))
            if not any(
                since <= at < until or (at < since and (kind, sid) not in closed)
                for kind, at in dated
            ):
                continue
            found.append(
                SettlementFacts(
                    settlement_id=sid,
                    visit_id=s["visit_id"],
                    his_settlement_id=s["his_settlement_id"],
                    person_masked=s["person_masked"],
                    pool=s["pool"],
                    created_at=s["created_at"],
                    total_fen=s["total_fen"],
                    result=copy.deepcopy(s["result"]),
                    reversal_id=None if r is None else r["id"],
                    reversed_at=None if r is None else r["created_at"],
                )
            )
        return found

    async def closed_keys(
        self, *, fund_code: str, settlement_ids: Sequence[int]
    ) -> set[tuple[str, int]]:
        wanted = set(settlement_ids)
        return {key for key in self._closed(fund_code) if key[1] in wanted}

    async def statement_for(
        self, *, fund_code: str, hospital_code: str, period: str
    ) -> ClearingStatement | None:
        for row in self.t.statements.values():
            if (row["fund_code"], row["hospital_code"], row["period"]) == (
                fund_code,
                hospital_code,
                period,
            ):
                return ClearingStatement(**copy.deepcopy(row))
        return None

    async def statement(self, statement_id: int, *, lock: bool = False) -> ClearingStatement | None:
        row = self.t.statements.get(statement_id)
        return None if row is None else ClearingStatement(**copy.deepcopy(row))

    async def latest_closed(
        self, *, fund_code: str, hospital_code: str
    ) -> ClearingStatement | None:
        mine = [
            row
            for row in self.t.statements.values()
            if (row["fund_code"], row["hospital_code"]) == (fund_code, hospital_code)
        ]
        last = max(mine, key=lambda row: row["period"], default=None)
        return None if last is None else ClearingStatement(**copy.deepcopy(last))

    async def insert_statement(self, values: dict[str, object]) -> int | None:
        """None when the (fund, hospital, period) is closed already (ON CONFLICT DO NOTHING)."""
        if await self.statement_for(
            fund_code=str(values["fund_code"]),
            hospital_code=str(values["hospital_code"]),
            period=str(values["period"]),
        ):
            return None
        row = ClearingStatement.model_validate(values)
        row.id = self.t.new_id()
        self.t.statements[row.id] = _row(row)
        return row.id

    async def insert_lines(
        self, *, statement_id: int, fund_code: str, lines: Sequence[Line]
    ) -> None:
        taken = self._closed(fund_code)
        if any((line.kind, line.settlement_id) in taken for line in lines):
            raise Duplicate("clearing_statement_lines: a line is closed already")
        for line in lines:
            row = ClearingStatementLine(
                statement_id=statement_id,
                fund_code=fund_code,
                kind=line.kind,
                settlement_id=line.settlement_id,
                reversal_id=line.reversal_id,
                visit_id=line.visit_id,
                his_settlement_id=line.his_settlement_id,
                person_masked=line.person_masked,
                dated_at=line.dated_at,
                adjustment=line.adjustment,
                medfee_fen=line.medfee_fen,
                fund_pay_fen=line.fund_pay_fen,
                fund_own_fen=line.fund_own_fen,
                psn_cash_fen=line.psn_cash_fen,
            )
            row.id = self.t.new_id()
            self.t.statement_lines[row.id] = _row(row)

    async def statement_lines(self, statement_id: int) -> list[ClearingStatementLine]:
        return [
            ClearingStatementLine(**copy.deepcopy(row))
            for _, row in sorted(self.t.statement_lines.items())
            if row["statement_id"] == statement_id
        ]

    async def closed_statements(
        self,
        *,
        principal: Principal,
        fund_code: str | None,
        hospital_code: str | None,
        limit: int,
    ) -> list[ClearingStatement]:
        found = [
            ClearingStatement(**copy.deepcopy(row))
            for row in self.t.statements.values()
            if principal.sees_hospital(row["hospital_code"], row["county_code"])
            and principal.sees_fund(row["fund_code"])
            and fund_code in (None, row["fund_code"])
            and hospital_code in (None, row["hospital_code"])
        ]
        # period descending, then id ascending, as the SQL store orders them
        found.sort(key=lambda s: s.id or 0)
        found.sort(key=lambda s: s.period, reverse=True)
        return found[:limit]

    async def paid_fen(self, statement_id: int) -> int:
        return sum(p.amount_fen for p in await self.payments(statement_id))

    async def payments(self, statement_id: int) -> list[ClearingPayment]:
        return [
            ClearingPayment(**copy.deepcopy(row))
            for _, row in sorted(self.t.clearing_payments.items())
            if row["statement_id"] == statement_id
        ]

    async def payment_by_reference(
        self, *, fund_code: str, reference: str
    ) -> ClearingPayment | None:
        for row in self.t.clearing_payments.values():
            if (row["fund_code"], row["reference"]) == (fund_code, reference):
                return ClearingPayment(**copy.deepcopy(row))
        return None

    async def add_payment(self, row: ClearingPayment) -> None:
        if await self.payment_by_reference(fund_code=row.fund_code, reference=row.reference):
            raise Duplicate("clearing_payments: the fund's reference is taken")
        row.id = self.t.new_id()
        self.t.clearing_payments[row.id] = _row(row)


class MemoryUnitOfWork:
    """A transaction over a copy of the committed tables."""

    session: Any = None  # the fakes of the catalog and the directory never read it

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._tables: Tables | None = None
        self.settlements = MemorySettlementStore(self)
        self.admissions = MemoryAdmissionStore(self)
        self.violations = MemoryViolationStore(self)
        self.receivables = MemoryReceivableStore(self)
        self.clearing = MemoryClearingStore(self)

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

    @property
    def tables(self) -> Tables:
        """This transaction's copy of what has committed, taken when it is first read (once per
        unit: copying every table is most of what a step costs on these stores)."""
        if self._tables is None:
            self._tables = copy.deepcopy(self._db.committed)
        return self._tables

    async def commit(self) -> None:
        if self._tables is not None:  # a unit that read nothing changed nothing
            self._db.committed = self._tables
        self._tables = None

    async def rollback(self) -> None:
        self._tables = None


@asynccontextmanager
async def memory_unit_of_work(db: MemoryDatabase) -> AsyncIterator[MemoryUnitOfWork]:
    """Like service.unit_of_work.unit_of_work: commit at the end of the block, or nothing."""
    uow = MemoryUnitOfWork(db)
    yield uow
    await uow.commit()
