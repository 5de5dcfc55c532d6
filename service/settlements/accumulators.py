"""The year's running totals of one person (年度累计), locked while a settlement uses them.

Locking: create any missing rows (`INSERT ... ON CONFLICT DO NOTHING`), then
`SELECT ... ORDER BY key FOR UPDATE`: every transaction locks a person's rows in the same
order, so concurrent settlements of one person queue instead of deadlocking, and each reads
what the one before it committed. SQLite has no row locks; its writers are serialised by
BEGIN IMMEDIATE (service/db.py), which gives the same guarantee. The CHECK constraint
(value_fen >= 0) is the last line if anything ever subtracts more than was added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from service.policy import CompiledPolicy, Visit
from service.settlements.models import Accumulator

SETTLED_KEY = "visits.settled"
"""Moved by every settlement and reversal, so even a policy with no annual limits locks a row."""

_table = Accumulator.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose year: a person in an insurance pool (the insured county) in a calendar year."""

    person_key: str
    pool: str
    year: int


def keys_for(
    policy: CompiledPolicy, visit: Visit, categories: frozenset[str], skip: frozenset[str]
) -> set[str]:
    """Every accumulator the engine can read or move for this situation."""
    keys = {SETTLED_KEY}
    for p in policy.plan(visit, categories):
        if not p.applies or p.code in skip:
            continue
        keys.add(p.key_paid)
        if p.kind == "ratio" and p.deductible_per_year:
            keys.add(p.key_deductible)
        if p.kind == "bands" and p.threshold_per_year:
            keys.add(p.key_eligible)
        if p.kind == "safety_net":
            keys.add(p.key_personal)
    return keys


def _dialect_insert(session: AsyncSession) -> sa.Insert:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_table)


def _where(scope: Scope, keys: Iterable[str]) -> sa.ColumnElement[bool]:
    return sa.and_(
        _table.c.person_key == scope.person_key,
        _table.c.pool == scope.pool,
        _table.c.year == scope.year,
        _table.c.key.in_(sorted(keys)),
    )


async def lock(session: AsyncSession, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
    """Create the rows if new, lock them in key order, and return their values."""
    ordered = sorted(set(keys))
    rows = [
        {
            "person_key": scope.person_key,
            "pool": scope.pool,
            "year": scope.year,
            "key": k,
            "value_fen": 0,
        }
        for k in ordered
    ]
    conn = await session.connection()
    insert = _dialect_insert(session)
    await conn.execute(insert.on_conflict_do_nothing(), rows)  # type: ignore[attr-defined]
    result = await conn.execute(
        sa.select(_table.c.key, _table.c.value_fen)
        .where(_where(scope, ordered))
        .order_by(_table.c.key)
        .with_for_update()
    )
    return {str(key): int(value) for key, value in result.all()}


async def read(session: AsyncSession, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
    """The current values, unlocked (for a preview)."""
    conn = await session.connection()
    result = await conn.execute(
        sa.select(_table.c.key, _table.c.value_fen).where(_where(scope, keys))
    )
    return {str(key): int(value) for key, value in result.all()}


async def add(
    session: AsyncSession, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]
) -> None:
    """Write `locked + deltas` for every key moved (all of them locked by `lock`)."""
    moved = {k: d for k, d in deltas.items() if d}
    missing = set(moved) - set(locked)
    if missing:
        raise RuntimeError(f"accumulators moved without being locked: {sorted(missing)}")
    if not moved:
        return
    conn = await session.connection()
    stmt = (
        _table.update()
        .where(
            sa.and_(
                _table.c.person_key == sa.bindparam("b_person"),
                _table.c.pool == sa.bindparam("b_pool"),
                _table.c.year == sa.bindparam("b_year"),
                _table.c.key == sa.bindparam("b_key"),
            )
        )
        .values(value_fen=sa.bindparam("b_value"))
    )
    params = [
        {
            "b_person": scope.person_key,
            "b_pool": scope.pool,
            "b_year": scope.year,
            "b_key": key,
            "b_value": locked[key] + delta,
        }
        for key, delta in sorted(moved.items())
    ]
    await conn.execute(stmt, params)


async def year_totals(session: AsyncSession, scope: Scope) -> dict[str, int]:
    """Every accumulator of the scope (for tests, reports and the slip)."""
    conn = await session.connection()
    result = await conn.execute(
        sa.select(_table.c.key, _table.c.value_fen).where(
            _table.c.person_key == scope.person_key,
            _table.c.pool == scope.pool,
            _table.c.year == scope.year,
        )
    )
    return {str(key): int(value) for key, value in result.all()}
