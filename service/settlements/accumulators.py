"""The year's running totals of one person (年度累计), locked while a settlement uses them.

Locking: `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` over the keys in sorted order creates
any missing row and locks every row in that order: concurrent settlements of one person queue
instead of deadlocking, and each reads what the one before it committed. SQLite has no row
locks; its writers are serialised by BEGIN IMMEDIATE (service/db.py), which gives the same
guarantee. The CHECK constraint
(value_fen >= 0) is the last line if anything ever subtracts more than was added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def lock(conn: AsyncConnection, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
    """Lock the rows in key order, creating any that are new, and return their values."""
    params = {
        "person_key": scope.person_key,
        "pool": scope.pool,
        "year": scope.year,
        "keys": json.dumps(sorted(set(keys))),
    }
    result = await conn.execute(_LOCK[conn.dialect.name], params)
    return {str(key): int(value) for key, value in result.all()}


# One statement: an upsert whose no-op update takes each row's lock in key order, waits for
# whoever holds it, and returns the value that one committed. The keys travel as one JSON array,
# so the statement is the same text (and prepared plan) for any number of keys.
_LOCK_SQL = """
    INSERT INTO accumulators AS a (person_key, pool, year, key, value_fen)
    SELECT :person_key, :pool, :year, k.value, 0 FROM {keys} AS k WHERE true ORDER BY k.value
    ON CONFLICT (person_key, pool, year, key) DO UPDATE SET value_fen = a.value_fen
    RETURNING key, value_fen
"""
_LOCK = {
    "postgresql": sa.text(_LOCK_SQL.format(keys="json_array_elements_text(CAST(:keys AS json))")),
    "sqlite": sa.text(_LOCK_SQL.format(keys="json_each(:keys)")),
}


async def read(conn: AsyncConnection, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
    """The current values, unlocked (for a preview)."""
    params = {"person_key": scope.person_key, "pool": scope.pool, "year": scope.year}
    result = await conn.execute(_READ, {**params, "keys": sorted(set(keys))})
    return {str(key): int(value) for key, value in result.all()}


_READ = sa.select(_table.c.key, _table.c.value_fen).where(
    _table.c.person_key == sa.bindparam("person_key"),
    _table.c.pool == sa.bindparam("pool"),
    _table.c.year == sa.bindparam("year"),
    _table.c.key.in_(sa.bindparam("keys", expanding=True)),
)


def moved_values(locked: Mapping[str, int], deltas: Mapping[str, int]) -> dict[str, int]:
    """The new value of every key the deltas move; every one of them must have been locked."""
    moved = {k: d for k, d in deltas.items() if d}
    missing = set(moved) - set(locked)
    if missing:
        raise RuntimeError(f"accumulators moved without being locked: {sorted(missing)}")
    return {key: locked[key] + delta for key, delta in moved.items()}


async def add(
    conn: AsyncConnection, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]
) -> None:
    """Write `locked + deltas` for every key moved (all of them locked by `lock`), in one
    statement."""
    values = moved_values(locked, deltas)
    if not values:
        return
    params = {
        "person_key": scope.person_key,
        "pool": scope.pool,
        "year": scope.year,
        "values": json.dumps(values),
    }
    await conn.execute(WRITE[conn.dialect.name], params)


# The new values travel as one JSON object {key: value_fen}, for the same reason as the keys.
WRITE_SQL = """
    UPDATE accumulators AS a SET value_fen = CAST(v.value AS BIGINT) FROM {values} AS v
    WHERE a.person_key = :person_key AND a.pool = :pool AND a.year = :year AND a.key = v.key
"""
PG_VALUES = "json_each_text(CAST(:values AS json))"
WRITE = {
    "postgresql": sa.text(WRITE_SQL.format(values=PG_VALUES)),
    "sqlite": sa.text(WRITE_SQL.format(values="json_each(:values)")),
}
