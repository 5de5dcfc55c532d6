"""Tamper evidence: recompute every chain and name the first record that does not hold.

A chain is one county's violations and transitions merged by chain_seq. Each record must
carry the next seq (a gap means a deleted or reordered record), the previous record's hash
(an inserted record breaks the link), and the hash of its own content, id included (an edited
record breaks its hash; content.py lists what each column's cover is). The chain's head must
match its last record (a deleted tail); each transition must belong to a violation booked
earlier in the same chain and start from the status the previous one left; and each
violation's status and status_changed_at must equal its
latest transition's (an edited or back-dated projection). Heads exported earlier
(`chain_heads`) catch a truncation that also rewrote the head.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.auth.visibility import region_conditions, region_range
from service.base import utcnow
from service.china_time import shown
from service.db import one_snapshot
from service.violations.content import LEGACY_FORMAT, derived_event_on, hash_format
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
    """Every chain in the caller's scope, as of one moment: a finding booked or moved while
    this runs is not a chain whose head disagrees with its records."""
    async with one_snapshot(session) as snapshot:
        return await _verify_ledger(snapshot, principal=principal, exported=exported)


async def _verify_ledger(
    session: AsyncSession, *, principal: Principal, exported: Iterable[ChainHeadPublic]
) -> VerifyReport:
    heads = await heads_in_scope(session, principal)
    uploaded = list(exported)
    known = {h.chain: h for h in uploaded if in_scope(principal, h.chain)}
    verdicts = [await verify_chain(session, head, known.get(head.chain)) for head in heads]
    verdicts += [_missing_chain(h) for c, h in known.items() if c not in {x.chain for x in heads}]
    broken = [v.first_broken for v in verdicts if v.first_broken is not None]
    return VerifyReport(
        intact=not broken,
        chains_checked=len(verdicts),
        records_checked=sum(v.records for v in verdicts),
        first_broken=broken[0] if broken else None,
        chains=verdicts,
        heads_checked=len(known),
        heads_outside_scope=sorted(h.chain for h in uploaded if h.chain not in known),
    )


def in_scope(principal: Principal, chain: str) -> bool:
    """The Python twin of scope.region_conditions for a chain (a county code)."""
    prefix = principal.region_prefix if principal.role is Role.AUDITOR else None
    if not prefix:
        return True
    if len(prefix) >= 6:
        return chain == prefix[:6]
    low, high = region_range(prefix)
    return low <= chain <= high


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
        self.current_format = False
        self.legacy = 0
        self.legacy_ids: dict[str, int] = {}

    def fail(self, seq: int, kind: Any, rid: int | None, reason: str) -> None:
        self.broken = BrokenRecord(chain=self.chain, seq=seq, kind=kind, id=rid, reason=reason)

    def step(self, record: Record) -> None:
        kind = "violation" if isinstance(record, Violation) else "transition"
        seq = record.chain_seq
        if seq != self.expected_seq:
            what = "duplicate" if seq < self.expected_seq else "gap in"
            self.fail(seq, kind, record.id, f"{what} seq: expected {self.expected_seq}")
        elif record.prev_hash != self.prev_hash:
            self.fail(seq, kind, record.id, "prev_hash mismatch: the link to the record before")
        elif (reason := self._format_problem(kind, record)) is not None:
            self.fail(seq, kind, record.id, reason)
        elif self._contradicts_export(seq, record.entry_hash):
            self.fail(seq, kind, record.id, "differs from the exported chain head")
        elif isinstance(record, Violation) and record.event_on != derived_event_on(record):
            # a moved event date would move the finding into another period's scoreboard
            self.fail(seq, kind, record.id, "event date disagrees with the hashed record")
        self.expected_seq = seq + 1
        self.prev_hash = record.entry_hash

    def _format_problem(self, kind: str, record: Record) -> str | None:
        """Format 2 hashes the id. Format 1 (older records) did not: it is accepted only before
        the chain's first format-2 record, and its ids must rise with the seq (ids are handed
        out in order under the chain's lock), so two swapped ids are still seen."""
        version = hash_format(record)
        if version is None:
            return "hash mismatch: the record's content was changed"
        if version != LEGACY_FORMAT:
            self.current_format = True
            return None
        self.legacy += 1
        if self.current_format:
            return "hash format 1 after a format-2 record: rewritten in the old format"
        last = self.legacy_ids.get(kind, 0)
        self.legacy_ids[kind] = record.id or 0
        if (record.id or 0) <= last:
            return f"id {record.id} out of order after {kind} id {last} (format-1 record)"
        return None

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
                    chain=head.chain,
                    records=records,
                    legacy_records=walk.legacy,
                    intact=False,
                    first_broken=walk.broken,
                )
        session.expunge_all()
    _check_ends(walk, head)
    for check in (_check_links, _check_history, _check_projection):
        if walk.broken is None:
            await check(session, walk)
    return ChainVerdict(
        chain=head.chain,
        records=records,
        legacy_records=walk.legacy,
        intact=walk.broken is None,
        first_broken=walk.broken,
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


async def _check_links(session: AsyncSession, walk: _Walk) -> None:
    """Each transition must move a violation booked earlier in the same chain."""
    v, t = violations_table.c, transitions_table.c
    stmt = (
        sa.select(t.id, t.chain_seq, t.violation_id)
        .select_from(transitions_table.outerjoin(violations_table, v.id == t.violation_id))
        .where(
            t.chain == walk.chain,
            sa.or_(v.id.is_(None), v.chain != t.chain, v.chain_seq >= t.chain_seq),
        )
        .order_by(t.chain_seq)
        .limit(1)
    )
    row = (await session.exec(stmt)).first()  # type: ignore[call-overload]
    if row is not None:
        reason = f"moves violation id {row.violation_id}, not one booked before it in this chain"
        walk.fail(row.chain_seq, "transition", row.id, reason)


async def _check_history(session: AsyncSession, walk: _Walk) -> None:
    """Each transition must start where the violation's previous one ended ('open' for the
    first): a status forged in place and then moved by the service would otherwise chain a
    transition from the forged status, and the projection would agree again."""
    t = transitions_table.c
    before = sa.func.lag(t.to_status).over(partition_by=t.violation_id, order_by=t.chain_seq)
    steps = (
        sa.select(
            t.id, t.chain_seq, t.from_status, sa.func.coalesce(before, "open").label("before")
        )
        .where(t.chain == walk.chain)
        .subquery()
    )
    stmt = (
        sa.select(steps)
        .where(steps.c.from_status != steps.c.before)
        .order_by(steps.c.chain_seq)
        .limit(1)
    )
    row = (await session.exec(stmt)).first()  # type: ignore[call-overload]
    if row is not None:
        reason = (
            f"from_status '{row.from_status}' is not where the violation's history left it"
            f" ('{row.before}'): its status was changed outside the ledger"
        )
        walk.fail(row.chain_seq, "transition", row.id, reason)


async def _check_projection(session: AsyncSession, walk: _Walk) -> None:
    """Each violation's status and status_changed_at must be its latest transition's to_status
    and at ('open' and detected_at while it has none)."""
    v, t = violations_table.c, transitions_table.c
    t2 = transitions_table.alias("t2")
    latest = (
        sa.select(sa.func.max(t2.c.chain_seq))
        .where(t2.c.violation_id == v.id)
        .correlate(violations_table)
        .scalar_subquery()
    )
    latest_of_each = sa.and_(t.violation_id == v.id, t.chain_seq == latest)
    expected_status = sa.func.coalesce(t.to_status, "open")
    expected_at = sa.func.coalesce(t.at, v.detected_at)
    stmt = (
        sa.select(v.id, v.chain_seq, v.status, v.status_changed_at, expected_status.label("want"))
        .select_from(violations_table.outerjoin(transitions_table, latest_of_each))
        .where(
            v.chain == walk.chain,
            sa.or_(v.status != expected_status, v.status_changed_at != expected_at),
        )
        .order_by(v.chain_seq)
        .limit(1)
    )
    row = (await session.exec(stmt)).first()  # type: ignore[call-overload]
    if row is None:
        return
    if row.status != row.want:
        reason = f"status projection '{row.status}' disagrees with the latest transition"
    else:
        reason = (
            f"status projection: status_changed_at {shown(row.status_changed_at)} is not"
            " the time of the latest transition"
        )
    walk.fail(row.chain_seq, "violation", row.id, reason)
