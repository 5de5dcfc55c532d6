"""Where settlements, their reversals and the year's accumulators are read and written.

Every statement of the concept is here. The hot path (ADR 0008, 0022) is three statements on
PostgreSQL, written in Core and `text()` and sent to the driver (service/driver.py), so no ORM
unit of work runs: `read_visit` (the admitted visit joined with its settlements and reversals),
`lock_accumulators` (one upsert that creates, locks in key order and returns the person's
rows), then, after the engine has run in process, `record` (the settlement, the accumulators it
moves and the patient's share it leaves, in one statement; SQLite takes one per write). Cold
paths (reads, reversal) use the ORM.

Locking: the upsert's no-op update takes each row's lock in key order, so concurrent settlements
of one person queue instead of deadlocking, and each reads what the one before it committed.
SQLite has no row locks; its writers are serialised by BEGIN IMMEDIATE (service/db.py), which
gives the same guarantee. The CHECK constraint (value_fen >= 0) is the last line if anything
ever subtracts more than was added. The same upsert holds the pool's policy versions against a
load (PostgreSQL advisory locks), and `record` writes only if the versions stored are still the
set the settlement chose from, inside its statement (ADR 0018, addendum "A replica's stale
list"): a replica's catalogue may be 10 s old.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth.principal import Principal
from service.auth.visibility import visible_to
from service.base import table_of
from service.db import Duplicate, insert_sql, is_unique_violation
from service.driver import DriverStatement
from service.policy_versions.store import (
    CURRENT_BINDS,
    CURRENT_SQL,
    HELD_SQL,
    Generation,
    current_params,
    province_of,
)
from service.receivables.store import OPEN as OPEN_SHARE
from service.receivables.store import open_from
from service.settlements.accumulators import Scope, moved_values
from service.settlements.models import Accumulator, Settlement, SettlementReversal
from service.settlements.prior import OtherStay
from service.settlements.visits import AdmittedVisit, Earlier

Stored = tuple[Settlement, SettlementReversal | None]


class SettlementStore(Protocol):
    async def read_visit(
        self, *, hospital_code: str, visit_id: str, lock: bool = False
    ) -> AdmittedVisit | None:
        """The calling hospital's admission of this visit with its settlements, newest first;
        `lock`: hold the admission against a reversal until the transaction ends."""
        ...

    async def read_accumulators(self, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
        """The current values, unlocked (a preview); keys never written are absent."""
        ...

    async def lock_accumulators(self, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
        """Create any missing row at 0, lock every row in key order, return the values; hold
        the policy versions of the scope's pool against a change until the transaction ends
        (service/policy_versions/store.py `HELD_SQL`)."""
        ...

    async def record(
        self,
        row: Mapping[str, Any],
        *,
        locked: Mapping[str, int],
        share: Mapping[str, Any] | None = None,
        policies_seen: Generation,
    ) -> int | None:
        """Insert the settlement `row`, move its scope's accumulators by `row["deltas"]` (every
        key moved was locked) and open the patient's `share` if one is left (a receivable's
        columns but its settlement id: service/receivables/hooks.py); its id. None, and nothing
        written, if the stored policy versions are no longer the set `policies_seen` names
        (the catalogue the settlement chose from is stale). `Duplicate` if the visit's HIS id
        or position was taken meanwhile. One statement on PostgreSQL."""
        ...

    async def get(self, settlement_id: int) -> Settlement | None:
        """The settlement as committed (or as this transaction wrote it)."""
        ...

    async def reversal_of(self, settlement_id: int) -> SettlementReversal | None:
        """Its reversal, if any; read after the accumulators are locked, it is final."""
        ...

    async def move(
        self, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]
    ) -> None:
        """Move a scope's locked accumulators by `deltas` (the earlier plan year of a stay split
        at the year end, ADR 0018: one more statement, on those stays only)."""
        ...

    async def book_reversal(
        self, reversal: SettlementReversal, *, scope: Scope, locked: Mapping[str, int]
    ) -> SettlementReversal:
        """Store the reversal and move the accumulators by its deltas; `Duplicate` if the
        settlement was reversed meanwhile."""
        ...

    async def list_for_visit(
        self,
        *,
        visit_id: str,
        hospital_code: str | None,
        principal: Principal,
        limit: int,
    ) -> list[Stored]:
        """A visit's settlements, oldest first: of one hospital if named, and only what the
        principal may see (service.auth.visibility)."""
        ...

    async def others_in_years(
        self, scope: Scope, years: Sequence[int], *, admission_id: int
    ) -> list[OtherStay]:
        """The person's active (not reversed) settlements in the pool in these plan years,
        of admissions other than this one, oldest first: the earlier admissions a deductible
        mode counts (service/settlements/prior.py). Read after the accumulators are locked,
        it is what every settlement before this one committed."""
        ...

    async def totals(self, scope: Scope) -> dict[str, int]:
        """Every accumulator of the scope (the slip, reports, invariant checks)."""
        ...

    async def active_discharge(self, admission_id: int) -> datetime | None:
        """The discharge of the admission's active (unreversed) settlement, if it is settled:
        a deposit taken later is implausible (service/dates.py)."""
        ...


_admissions = table_of(Admission)
_settlements = table_of(Settlement)
_reversals = table_of(SettlementReversal)
_accumulators = table_of(Accumulator)

_ACTIVE_DISCHARGE = (
    sa.select(_settlements.c.discharged_at)
    .select_from(
        _settlements.outerjoin(_reversals, _reversals.c.settlement_id == _settlements.c.id)
    )
    .where(
        _settlements.c.admission_id == sa.bindparam("admission_id"),
        _reversals.c.id.is_(None),
    )
    .order_by(_settlements.c.discharged_at.desc())
    .limit(1)
)

_VISIT = (  # `_visit` reads its rows by position
    sa.select(
        _admissions.c.id,
        _admissions.c.county_code,
        _admissions.c.state,
        _admissions.c.person_key,
        _admissions.c.person_masked,
        _admissions.c.insured_county,
        _admissions.c.visit_type,
        _admissions.c.admitted_at,
        _admissions.c.location,
        _admissions.c.referred,
        _admissions.c.categories,
        _admissions.c.eligible,
        _admissions.c.policy_hash,
        _settlements.c.id.label("settlement_id"),
        _settlements.c.his_settlement_id,
        _settlements.c.visit_seq,
        _settlements.c.request_hash,
        _settlements.c.mid_settlement,
        _settlements.c.discharged_at.label("stage_end"),
        _reversals.c.id.label("reversal_id"),
    )
    .select_from(
        _admissions.outerjoin(
            _settlements,
            sa.and_(
                _settlements.c.hospital_code == _admissions.c.hospital_code,
                _settlements.c.visit_id == _admissions.c.visit_id,
            ),
        ).outerjoin(_reversals, _reversals.c.settlement_id == _settlements.c.id)
    )
    .where(
        _admissions.c.hospital_code == sa.bindparam("hospital_code"),
        _admissions.c.visit_id == sa.bindparam("visit_id"),
    )
    .order_by(_settlements.c.visit_seq.desc())
)

# A settlement holds the admission row (FOR KEY SHARE, PostgreSQL) from its first read to its
# commit, before it locks any accumulator; reversing the admission takes the same row FOR UPDATE
# first (admissions/store.py `find(for_update=True)`). So one waits for the other and then sees
# it: a settlement never commits on a reversed admission, nor a reversal on a settled one.
# Settlements of one visit do not block each other. SQLite serialises write transactions anyway.
_VISIT_LOCKED = _VISIT.with_for_update(read=True, key_share=True, of=_admissions)

# One statement: an upsert whose no-op update takes each row's lock in key order, waits for
# whoever holds it, and returns the value that one committed. The keys travel as one JSON array,
# so the statement is the same text (and prepared plan) for any number of keys.
_LOCK_SQL = """
    INSERT INTO accumulators AS a (person_key, pool, year, key, value_fen)
    SELECT :person_key, :pool, :year, k.value, 0 FROM {keys} AS k WHERE {held} ORDER BY k.value
    ON CONFLICT (person_key, pool, year, key) DO UPDATE SET value_fen = a.value_fen
    RETURNING key, value_fen
"""
# On PostgreSQL its WHERE also holds the pool's policy versions (HELD_SQL), run once before the
# first row is locked: no statement of its own.
_LOCK = {
    "postgresql": sa.text(
        _LOCK_SQL.format(keys="json_array_elements_text(CAST(:keys AS json))", held=HELD_SQL)
    ),
    "sqlite": sa.text(_LOCK_SQL.format(keys="json_each(:keys)", held="true")),
}

# The earlier admissions of the person's plan year (ADR 0019: PriorAdmissions), only for
# policies whose deductible or monthly caps depend on them: one statement, on the
# ix_settlements_person_year index.
_OTHERS = (
    sa.select(
        _settlements.c.admission_id,
        _settlements.c.hospital_code,
        _settlements.c.year,
        _settlements.c.discharged_at,
        _settlements.c.deltas,
    )
    .select_from(
        _settlements.outerjoin(_reversals, _reversals.c.settlement_id == _settlements.c.id)
    )
    .where(
        _settlements.c.person_key == sa.bindparam("person_key"),
        _settlements.c.year.in_(sa.bindparam("years", expanding=True)),
        _settlements.c.pool == sa.bindparam("pool"),
        _settlements.c.admission_id != sa.bindparam("admission_id"),
        _reversals.c.id.is_(None),
    )
    .order_by(_settlements.c.id)
)

_READ = sa.select(_accumulators.c.key, _accumulators.c.value_fen).where(
    _accumulators.c.person_key == sa.bindparam("person_key"),
    _accumulators.c.pool == sa.bindparam("pool"),
    _accumulators.c.year == sa.bindparam("year"),
    _accumulators.c.key.in_(sa.bindparam("keys", expanding=True)),
)

_TOTALS = sa.select(_accumulators.c.key, _accumulators.c.value_fen).where(
    _accumulators.c.person_key == sa.bindparam("person_key"),
    _accumulators.c.pool == sa.bindparam("pool"),
    _accumulators.c.year == sa.bindparam("year"),
)

# The new values travel as one JSON object {key: value_fen}, for the same reason as the keys.
_WRITE_SQL = """
    UPDATE accumulators AS a SET value_fen = CAST(v.value AS BIGINT) FROM {values} AS v
    WHERE a.person_key = :person_key AND a.pool = :pool AND a.year = :year AND a.key = v.key
"""
_PG_VALUES = "json_each_text(CAST(:values AS json))"
_WRITE = {
    "postgresql": sa.text(_WRITE_SQL.format(values=_PG_VALUES)),
    "sqlite": sa.text(_WRITE_SQL.format(values="json_each(:values)")),
}

# PostgreSQL: a settlement's writes are one statement. The accumulator update, and the patient's
# share when one is left (service/receivables), are data-modifying WITHs, which run to completion
# whether or not the main statement reads them; the share takes the new settlement's id from the
# INSERT's CTE (ADR 0008, ADR 0022). SQLite has no such WITH: the INSERT, the UPDATE, and the
# share's INSERT, one after the other.
# Each writes only if the policy versions are still the set the settlement chose from (`fresh`
# has its one row then: service/policy_versions/store.py CURRENT_SQL); else nothing, no id.
_FRESH = "fresh AS (SELECT 1 AS ok WHERE {current})"
_INSERT_SQL, _SETTLEMENT_BINDS = insert_sql(_settlements, select_from="fresh")
_INSERT = sa.text(
    f"WITH {_FRESH.format(current=CURRENT_SQL['sqlite'])} {_INSERT_SQL} RETURNING id"
).bindparams(*_SETTLEMENT_BINDS, *CURRENT_BINDS)
_MOVED = (
    f"moved AS ({_WRITE_SQL.format(values=_PG_VALUES)} AND EXISTS (SELECT 1 FROM fresh) "
    "RETURNING 1)"
)
_PG_FIRST = f"WITH {_FRESH.format(current=CURRENT_SQL['postgresql'])}, {_MOVED}"
_SHARE_SQL, _SHARE_BINDS = open_from("s")
_RECORD = {  # by whether a share is opened
    False: sa.text(f"{_PG_FIRST} {_INSERT_SQL} RETURNING id").bindparams(
        *_SETTLEMENT_BINDS, *CURRENT_BINDS
    ),
    True: sa.text(
        f"{_PG_FIRST}, s AS ({_INSERT_SQL} RETURNING id), share AS ({_SHARE_SQL}) SELECT id FROM s"
    ).bindparams(*_SETTLEMENT_BINDS, *_SHARE_BINDS, *CURRENT_BINDS),
}


# PostgreSQL runs the three statements of a settlement on the driver (service/driver.py,
# ADR 0022); SQLite, and every other statement here, through SQLAlchemy.
_DRIVER_VISIT = DriverStatement(_VISIT)
_DRIVER_VISIT_LOCKED = DriverStatement(_VISIT_LOCKED)
_DRIVER_LOCK = DriverStatement(_LOCK["postgresql"])
_DRIVER_RECORD = {share: DriverStatement(statement) for share, statement in _RECORD.items()}


def _scope_params(scope: Scope) -> dict[str, Any]:
    return {"person_key": scope.person_key, "pool": scope.pool, "year": scope.year}


class SqlSettlementStore:
    __slots__ = ("_held", "_session")

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._held: AsyncConnection | None = None

    async def _conn(self) -> AsyncConnection:
        # The transaction's connection, asked of the session once per transaction (each ask is
        # a greenlet hop; a settlement makes three statements). The commit or a retry's
        # rollback closes it, and the next statement asks the session again.
        held = self._held
        if held is None or held.closed or held.invalidated:
            held = self._held = await self._session.connection()
        return held

    async def read_visit(
        self, *, hospital_code: str, visit_id: str, lock: bool = False
    ) -> AdmittedVisit | None:
        conn = await self._conn()
        params = {"hospital_code": hospital_code, "visit_id": visit_id}
        rows: Sequence[Sequence[Any]]
        if conn.dialect.name == "postgresql":
            rows = await (_DRIVER_VISIT_LOCKED if lock else _DRIVER_VISIT).rows(conn, params)
        else:
            rows = (await conn.execute(_VISIT_LOCKED if lock else _VISIT, params)).all()
        return _visit(rows, hospital_code=hospital_code, visit_id=visit_id) if rows else None

    async def read_accumulators(self, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
        conn = await self._conn()
        params = {**_scope_params(scope), "keys": sorted(set(keys))}
        return {str(k): int(v) for k, v in (await conn.execute(_READ, params)).all()}

    async def lock_accumulators(self, scope: Scope, keys: Iterable[str]) -> dict[str, int]:
        conn = await self._conn()
        params = {**_scope_params(scope), "keys": json.dumps(sorted(set(keys)))}
        if conn.dialect.name == "postgresql":
            params["province"] = province_of(scope.pool)
            return {str(k): int(v) for k, v in await _DRIVER_LOCK.rows(conn, params)}
        result = await conn.execute(_LOCK["sqlite"], params)
        return {str(k): int(v) for k, v in result.all()}

    async def record(
        self,
        row: Mapping[str, Any],
        *,
        locked: Mapping[str, int],
        share: Mapping[str, Any] | None = None,
        policies_seen: Generation,
    ) -> int | None:
        conn = await self._conn()
        values = json.dumps(moved_values(locked, row["deltas"]))
        seen = current_params(policies_seen)
        try:
            if conn.dialect.name == "postgresql":
                params = {**row, **seen, "values": values}
                if share is not None:
                    params.update({f"r_{name}": value for name, value in share.items()})
                found = await _DRIVER_RECORD[share is not None].scalar(conn, params)
                return None if found is None else int(found)
            found = (await conn.execute(_INSERT, {**row, **seen})).scalar_one_or_none()
        except IntegrityError as exc:
            raise _duplicate_or(exc) from exc
        if found is None:
            return None
        settlement_id = int(found)
        scope = {"person_key": row["person_key"], "pool": row["pool"], "year": row["year"]}
        await conn.execute(_WRITE["sqlite"], {**scope, "values": values})
        if share is not None:
            await conn.execute(OPEN_SHARE, {**share, "settlement_id": settlement_id})
        return settlement_id

    async def get(self, settlement_id: int) -> Settlement | None:
        return await self._session.get(Settlement, settlement_id, populate_existing=True)

    async def reversal_of(self, settlement_id: int) -> SettlementReversal | None:
        query = select(SettlementReversal).where(SettlementReversal.settlement_id == settlement_id)
        return (await self._session.exec(query)).first()

    async def book_reversal(
        self, reversal: SettlementReversal, *, scope: Scope, locked: Mapping[str, int]
    ) -> SettlementReversal:
        self._session.add(reversal)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise _duplicate_or(exc) from exc
        await self._move(scope, locked, reversal.deltas)
        return reversal

    async def move(
        self, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]
    ) -> None:
        await self._move(scope, locked, deltas)

    async def _move(
        self, scope: Scope, locked: Mapping[str, int], deltas: Mapping[str, int]
    ) -> None:
        values = moved_values(locked, deltas)
        if values:
            conn = await self._conn()
            params = {**_scope_params(scope), "values": json.dumps(values)}
            await conn.execute(_WRITE[conn.dialect.name], params)

    async def list_for_visit(
        self,
        *,
        visit_id: str,
        hospital_code: str | None,
        principal: Principal,
        limit: int,
    ) -> list[Stored]:
        seen = visible_to(
            principal,
            hospital_code=col(Settlement.hospital_code),
            county_code=col(Settlement.county_code),
        )
        query = (
            select(Settlement, SettlementReversal)
            .outerjoin(
                SettlementReversal, col(SettlementReversal.settlement_id) == col(Settlement.id)
            )
            .where(Settlement.visit_id == visit_id, *seen)
        )
        if hospital_code is not None:
            query = query.where(Settlement.hospital_code == hospital_code)
        result = await self._session.exec(query.order_by(col(Settlement.id)).limit(limit))
        return [(row, reversal) for row, reversal in result.all()]

    async def others_in_years(
        self, scope: Scope, years: Sequence[int], *, admission_id: int
    ) -> list[OtherStay]:
        conn = await self._conn()
        params = {
            "person_key": scope.person_key,
            "pool": scope.pool,
            "years": sorted(set(years)),
            "admission_id": admission_id,
        }
        rows = (await conn.execute(_OTHERS, params)).all()
        return [
            OtherStay(
                int(r.admission_id), r.hospital_code, int(r.year), r.discharged_at, r.deltas or {}
            )
            for r in rows
        ]

    async def totals(self, scope: Scope) -> dict[str, int]:
        conn = await self._conn()
        result = await conn.execute(_TOTALS, _scope_params(scope))
        return {str(k): int(v) for k, v in result.all()}

    async def active_discharge(self, admission_id: int) -> datetime | None:
        conn = await self._conn()
        row = (await conn.execute(_ACTIVE_DISCHARGE, {"admission_id": admission_id})).first()
        return None if row is None else cast(datetime, row[0])


def _duplicate_or(exc: IntegrityError) -> Exception:
    return Duplicate(str(exc.orig)) if is_unique_violation(exc) else exc


def _visit(rows: Sequence[Sequence[Any]], *, hospital_code: str, visit_id: str) -> AdmittedVisit:
    """The visit from `_VISIT`'s rows, by position (SQLAlchemy's rows and the driver's tuples
    alike): the admission's 13 columns, then each settlement's 7."""
    first = rows[0]
    history = tuple(
        Earlier(r[13], visit_id, r[14], r[15], r[16], r[19], bool(r[17]), r[18])
        for r in rows
        if r[13] is not None
    )
    return AdmittedVisit(
        id=first[0],
        hospital_code=hospital_code,
        county_code=first[1],
        visit_id=visit_id,
        state=first[2],
        person_key=first[3],
        person_masked=first[4],
        insured_county=first[5],
        visit_type=first[6],
        admitted_at=first[7],
        location=first[8],
        referred=first[9],
        categories=frozenset(first[10] or ()),
        history=history,
        eligible=first[11],
        policy_hash=first[12],
    )
