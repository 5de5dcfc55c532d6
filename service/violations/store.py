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

from service.violations.ledger import Finding, next_transition, next_violation
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

    async def transition(
        self,
        violation: Violation,
        *,
        to_status: str,
        actor: str,
        note: str = "",
        evidence_ref: str | None = None,
    ) -> ViolationTransition:
        """Chain a status change and move the violation's status projection with it."""
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

    async def book(self, finding: Finding) -> Violation:
        head = await self._head(finding.county_code)
        violation = next_violation(finding, seq=head.seq, prev_hash=head.head_hash)
        head.seq, head.head_hash = violation.chain_seq, violation.entry_hash
        self._session.add_all([violation, head])
        await self._session.flush()
        return violation

    async def lock_chain(self, chain: str) -> None:
        await self._head(chain)

    async def refresh(self, violation: Violation) -> None:
        await self._session.refresh(violation)

    async def transition(
        self,
        violation: Violation,
        *,
        to_status: str,
        actor: str,
        note: str = "",
        evidence_ref: str | None = None,
    ) -> ViolationTransition:
        head = await self._head(violation.chain)
        transition = next_transition(
            violation,
            seq=head.seq,
            prev_hash=head.head_hash,
            to_status=to_status,
            actor=actor,
            note=note,
            evidence_ref=evidence_ref,
        )
        head.seq, head.head_hash = transition.chain_seq, transition.entry_hash
        await self._session.exec(
            sa.update(Violation)
            .where(sa.column("id") == violation.id)
            .values(status=to_status, status_changed_at=transition.at)
        )
        violation.status = to_status
        violation.status_changed_at = transition.at
        self._session.add_all([transition, head])
        await self._session.flush()
        return transition

    async def of_visit(self, *, hospital_code: str, visit_id: str) -> list[Violation]:
        query = (
            select(Violation)
            .where(Violation.hospital_code == hospital_code, Violation.visit_id == visit_id)
            .order_by(col(Violation.id))
        )
        return list((await self._session.exec(query)).all())
