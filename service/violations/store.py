"""Where the violation ledger is appended to: findings and status changes, each chained after
its county's head, which is locked until the commit (row lock on PostgreSQL; SQLite writers are
serialised by BEGIN IMMEDIATE). Cold path, ORM; the head is always locked after a settlement's
accumulators, so the two lock sets are taken in one order."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.violations.ledger import (
    Finding,
    StatusChange,
    next_transition,
    next_violation,
    seal,
)
from service.violations.models import LedgerHead, Violation, ViolationTransition


class ViolationStore(Protocol):
    async def book(self, finding: Finding) -> Violation:
        """Chain the finding as a new open violation."""
        ...

    async def lock_chain(self, chain: str) -> None:
        """Hold the chain's head until the commit, so what is read next is final."""
        ...

    async def refresh(self, violation: Violation) -> None:
        """Re-read the violation's status (after `lock_chain`)."""
        ...

    async def transition(self, violation: Violation, change: StatusChange) -> ViolationTransition:
        """Chain a status change and move the violation's status projection with it."""
        ...

    async def latest_transition(self, violation_id: int) -> ViolationTransition | None:
        """The violation's last status change, if it had one."""
        ...

    async def of_visit(self, *, hospital_code: str, visit_id: str) -> list[Violation]:
        """The visit's violations, oldest first."""
        ...


class SqlViolationStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _head(self, chain: str) -> LedgerHead:
        """Create the chain's head if new, then lock it."""
        session = self._session
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.exec(insert(LedgerHead).values(chain=chain).on_conflict_do_nothing())
        query = select(LedgerHead).where(LedgerHead.chain == chain).with_for_update()
        head = (await session.exec(query)).one()
        await session.refresh(head)
        return head

    async def _append(self, head: LedgerHead, record: Violation | ViolationTransition) -> None:
        """The one way onto a chain: insert the record (it gets its id), hash it with the id
        (format 2), move the head onto it. The row is written twice inside the one
        transaction, under the head's lock; no reader ever sees it unhashed."""
        self._session.add(record)
        await self._session.flush()
        head.seq, head.head_hash = record.chain_seq, seal(record)
        self._session.add_all([record, head])
        await self._session.flush()

    async def book(self, finding: Finding) -> Violation:
        head = await self._head(finding.county_code)
        violation = next_violation(finding, seq=head.seq, prev_hash=head.head_hash)
        await self._append(head, violation)
        return violation

    async def lock_chain(self, chain: str) -> None:
        await self._head(chain)

    async def refresh(self, violation: Violation) -> None:
        await self._session.refresh(violation)

    async def transition(self, violation: Violation, change: StatusChange) -> ViolationTransition:
        head = await self._head(violation.chain)
        transition = next_transition(violation, change, seq=head.seq, prev_hash=head.head_hash)
        await self._session.exec(
            sa.update(Violation)
            .where(sa.column("id") == violation.id)
            .values(status=change.to_status, status_changed_at=transition.at)
        )
        violation.status = change.to_status
        violation.status_changed_at = transition.at
        await self._append(head, transition)
        return transition

    async def latest_transition(self, violation_id: int) -> ViolationTransition | None:
        query = (
            select(ViolationTransition)
            .where(ViolationTransition.violation_id == violation_id)
            .order_by(col(ViolationTransition.chain_seq).desc())
            .limit(1)
        )
        return (await self._session.exec(query)).first()

    async def of_visit(self, *, hospital_code: str, visit_id: str) -> list[Violation]:
        query = (
            select(Violation)
            .where(Violation.hospital_code == hospital_code, Violation.visit_id == visit_id)
            .order_by(col(Violation.id))
        )
        return list((await self._session.exec(query)).all())
