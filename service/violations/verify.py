"""Tamper evidence: recompute every chain and name the first record that does not hold.

A chain is one county's violations and transitions merged by chain_seq. Each record must
carry the next seq (a gap means a deleted or reordered record), the previous record's hash
(an inserted record breaks the link), and the hash of its own content (an edited record
breaks its hash). The chain's head must match its last record (a deleted tail), and each
violation's status column must equal its latest transition's target (an edited projection).
Heads exported earlier (`chain_heads`) catch a truncation that also rewrote the head.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.auth.visibility import region_conditions
from service.base import utcnow
from service.violations.ledger import chain_hash, transition_content, violation_content
from service.violations.models import (
    GENESIS_HASH,
    LedgerHead,
    Violation,
    ViolationTransition,
    transitions_table,
    violations_table,
)
from service.violations.schemas import (
    BrokenRecord,
    ChainHeadPublic,
    ChainHeads,
    ChainVerdict,
    VerifyReport,
)

WINDOW = 2000
Record = Violation | ViolationTransition


async def heads_in_scope(session: AsyncSession, principal: Principal) -> list[LedgerHead]:
    stmt = select(LedgerHead).order_by(col(LedgerHead.chain))
    if principal.role is Role.AUDITOR and principal.region_prefix:
        stmt = stmt.where(*region_conditions(col(LedgerHead.chain), principal.region_prefix))
    return list((await session.exec(stmt)).all())


async def chain_heads(session: AsyncSession, *, principal: Principal) -> ChainHeads:
    heads = await heads_in_scope(session, principal)
    return ChainHeads(
        exported_at=utcnow(),
        heads=[ChainHeadPublic(chain=h.chain, seq=h.seq, head_hash=h.head_hash) for h in heads],
    )


async def verify_ledger(
    session: AsyncSession,
    *,
    principal: Principal,
    exported: Iterable[ChainHeadPublic] = (),
) -> VerifyReport:
    heads = await heads_in_scope(session, principal)
    known = {h.chain: h for h in exported}
    verdicts = [await verify_chain(session, head, known.get(head.chain)) for head in heads]
    verdicts += [_missing_chain(h) for c, h in known.items() if c not in {x.chain for x in heads}]
    broken = [v.first_broken for v in verdicts if v.first_broken is not None]
    return VerifyReport(
        intact=not broken,
        chains_checked=len(verdicts),
        records_checked=sum(v.records for v in verdicts),
        first_broken=broken[0] if broken else None,
        chains=verdicts,
    )


def _missing_chain(exported: ChainHeadPublic) -> ChainVerdict:
    reason = f"chain exported with head seq {exported.seq} is gone"
    broken = BrokenRecord(chain=exported.chain, seq=0, kind="head", id=None, reason=reason)
    return ChainVerdict(chain=exported.chain, records=0, intact=False, first_broken=broken)


class _Walk:
    """The state of one chain's replay."""

    def __init__(self, chain: str, exported: ChainHeadPublic | None) -> None:
        self.chain = chain
        self.exported = exported
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.broken: BrokenRecord | None = None

    def fail(self, seq: int, kind: Any, rid: int | None, reason: str) -> None:
        self.broken = BrokenRecord(chain=self.chain, seq=seq, kind=kind, id=rid, reason=reason)

    def step(self, record: Record) -> None:
        kind = "violation" if isinstance(record, Violation) else "transition"
        content = (
            violation_content(record)
            if isinstance(record, Violation)
            else transition_content(record)
        )
        seq = record.chain_seq
        if seq != self.expected_seq:
            what = "duplicate" if seq < self.expected_seq else "gap in"
            self.fail(seq, kind, record.id, f"{what} seq: expected {self.expected_seq}")
        elif record.prev_hash != self.prev_hash:
            self.fail(seq, kind, record.id, "prev_hash mismatch: the link to the record before")
        elif chain_hash(record.prev_hash, content) != record.entry_hash:
            self.fail(seq, kind, record.id, "hash mismatch: the record's content was changed")
        elif self._contradicts_export(seq, record.entry_hash):
            self.fail(seq, kind, record.id, "differs from the exported chain head")
        self.expected_seq = seq + 1
        self.prev_hash = record.entry_hash

    def _contradicts_export(self, seq: int, entry_hash: str) -> bool:
        return self.exported is not None and (
            self.exported.seq == seq and self.exported.head_hash != entry_hash
        )


async def verify_chain(
    session: AsyncSession, head: LedgerHead, exported: ChainHeadPublic | None = None
) -> ChainVerdict:
    walk = _Walk(head.chain, exported)
    last = await _last_seq(session, head.chain)
    records = 0
    for low in range(1, max(last, head.seq) + 1, WINDOW):
        for record in await _window(session, head.chain, low, low + WINDOW):
            records += 1
            walk.step(record)
            if walk.broken is not None:
                return ChainVerdict(
                    chain=head.chain, records=records, intact=False, first_broken=walk.broken
                )
        session.expunge_all()
    _check_ends(walk, head)
    if walk.broken is None:
        await _check_projection(session, walk)
    return ChainVerdict(
        chain=head.chain, records=records, intact=walk.broken is None, first_broken=walk.broken
    )


def _check_ends(walk: _Walk, head: LedgerHead) -> None:
    last = walk.expected_seq - 1
    if head.seq != last or head.head_hash != walk.prev_hash:
        walk.fail(head.seq, "head", None, f"chain head disagrees with the last record (seq {last})")
    elif walk.exported is not None and walk.exported.seq > last:
        reason = (
            f"truncated: the exported head had seq {walk.exported.seq}, the chain ends at {last}"
        )
        walk.fail(walk.exported.seq, "head", None, reason)


async def _last_seq(session: AsyncSession, chain: str) -> int:
    v = await session.exec(select(sa.func.max(Violation.chain_seq)).where(Violation.chain == chain))
    t = await session.exec(
        select(sa.func.max(ViolationTransition.chain_seq)).where(ViolationTransition.chain == chain)
    )
    return max(v.one() or 0, t.one() or 0)


async def _window(session: AsyncSession, chain: str, low: int, high: int) -> list[Record]:
    v_stmt = select(Violation).where(
        Violation.chain == chain, col(Violation.chain_seq) >= low, col(Violation.chain_seq) < high
    )
    t_stmt = select(ViolationTransition).where(
        ViolationTransition.chain == chain,
        col(ViolationTransition.chain_seq) >= low,
        col(ViolationTransition.chain_seq) < high,
    )
    merged: list[Record] = [
        *(await session.exec(v_stmt)).all(),
        *(await session.exec(t_stmt)).all(),
    ]
    return sorted(merged, key=lambda r: (r.chain_seq, isinstance(r, ViolationTransition)))


async def _check_projection(session: AsyncSession, walk: _Walk) -> None:
    """Each violation's status must be its latest transition's to_status ('open' if none)."""
    v, t = violations_table.c, transitions_table.c
    t2 = transitions_table.alias("t2")
    latest = sa.select(sa.func.max(t2.c.chain_seq)).where(t2.c.violation_id == v.id)
    last_to = (
        sa.select(t.to_status)
        .where(t.violation_id == v.id, t.chain_seq == latest.scalar_subquery())
        .scalar_subquery()
    )
    stmt = (
        sa.select(v.id, v.chain_seq, v.status)
        .where(
            v.chain == walk.chain, v.status != sa.func.coalesce(last_to.scalar_subquery(), "open")
        )
        .order_by(v.chain_seq)
        .limit(1)
    )
    row = (await session.exec(stmt)).first()  # type: ignore[call-overload]
    if row is not None:
        reason = f"status projection '{row.status}' disagrees with the latest transition"
        walk.fail(row.chain_seq, "violation", row.id, reason)
