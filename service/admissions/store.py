"""Where admissions, their deposits and their events are read and written.

The admission itself is the hot path (ADR 0008): one `INSERT ... ON CONFLICT DO NOTHING
RETURNING id` with the answer already in the row, and the event (on PostgreSQL in the same
statement, ADR 0022), `text()`/Core statements SQLAlchemy caches. Deposits, reversal and
reads are cold and use the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission, AdmissionDeposit, AdmissionEvent
from service.auth.principal import Principal
from service.auth.visibility import visible_to
from service.base import table_of
from service.db import (
    add_once,
    insert_sql,
    insert_unless_exists,
)
from service.driver import DriverStatement
from service.receivables.store import LAST_MARK, LAST_MARK_SQL


class AdmissionStore(Protocol):
    async def insert_once(self, row: dict[str, Any], *, event: Mapping[str, Any]) -> int | None:
        """Insert the admission unless (hospital, visit id) exists, with its first `event` (an
        event's columns but the admission's id): its id, or None (and no event) if it did.

        On PostgreSQL one statement, and a racing insert of the same visit waits for the other
        to commit, then yields."""
        ...

    async def insert_unless_marked(
        self, row: dict[str, Any], *, event: Mapping[str, Any]
    ) -> tuple[bool, int | None]:
        """(marked, id): if the patient's last defaulter mark at this hospital is a mark
        (service/receivables), nothing is written and marked is True (the caller judges again
        and calls `insert_once`); else `insert_once`'s answer. One statement on PostgreSQL."""
        ...

    async def set_response(self, admission_id: int, response: dict[str, Any]) -> None: ...

    async def find(
        self, *, hospital_code: str, visit_id: str, for_update: bool = False
    ) -> Admission | None:
        """The hospital's admission of the visit; `for_update` locks it (PostgreSQL; SQLite
        writers are serialised already)."""
        ...

    async def visible(
        self, *, principal: Principal, hospital_code: str, visit_id: str
    ) -> Admission | None:
        """The hospital's admission of the visit if this principal may see it
        (service.auth.visibility)."""
        ...

    async def by_id(self, admission_id: int) -> Admission | None: ...

    async def find_deposit(self, admission_id: int, receipt_no: str) -> AdmissionDeposit | None: ...

    async def add_deposit(self, deposit: AdmissionDeposit) -> None:
        """Store the deposit; `Duplicate` (and nothing stored) if its receipt was reported by
        a transaction that committed meanwhile."""
        ...

    async def save(self, *rows: SQLModel) -> None:
        """Write changed or new admission, deposit and event rows."""
        ...


_admissions = table_of(Admission)
_events = table_of(AdmissionEvent)
_SET_RESPONSE = (
    _admissions.update()
    .where(_admissions.c.id == sa.bindparam("admission_id"))
    .values(response=sa.bindparam("b_response", type_=sa.JSON))
)
_EVENT = sa.insert(_events)
_UNIQUE = "ON CONFLICT (hospital_code, visit_id) DO NOTHING RETURNING id"
_INSERT_ONCE = insert_unless_exists(_admissions, unique=("hospital_code", "visit_id"))
# PostgreSQL: the admission and its first event in one statement (ADR 0022), the event a
# data-modifying WITH that takes the new admission's id, so it is written only if the
# admission was (a retry inserts neither). SQLite has no such WITH: `_INSERT_ONCE`, then `_EVENT`.
_ADMISSION_SQL, _ADMISSION_BINDS = insert_sql(_admissions)
_EVENT_SQL, _EVENT_BINDS = insert_sql(
    _events, prefix="e_", select_from="a", given={"admission_id": "a.id"}
)
_INSERT_ONCE_WITH_EVENT = DriverStatement(  # on the driver (service/driver.py, ADR 0022)
    sa.text(
        f"WITH a AS ({_ADMISSION_SQL} {_UNIQUE}), event AS ({_EVENT_SQL}) SELECT id FROM a"
    ).bindparams(*_ADMISSION_BINDS, *_EVENT_BINDS)
)
# The same, for an eligible patient, unless the defaulter marks say marked: the mark read in
# the statement (`mark`), the admission inserted from its row only if not marked.
_UNMARKED_SQL, _ = insert_sql(_admissions, select_from="mark WHERE NOT mark.marked")
_INSERT_UNLESS_MARKED = DriverStatement(
    sa.text(
        f"WITH mark AS (SELECT COALESCE(({LAST_MARK_SQL}) = 'mark', false) AS marked), "
        f"a AS ({_UNMARKED_SQL} {_UNIQUE}), event AS ({_EVENT_SQL}) "
        "SELECT mark.marked, (SELECT id FROM a) FROM mark"
    ).bindparams(*_ADMISSION_BINDS, *_EVENT_BINDS)
)


class SqlAdmissionStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert_once(self, row: dict[str, Any], *, event: Mapping[str, Any]) -> int | None:
        conn = await self._session.connection()
        if conn.dialect.name == "postgresql":
            params = {**row, **{f"e_{name}": value for name, value in event.items()}}
            inserted = await _INSERT_ONCE_WITH_EVENT.scalar(conn, params)
            return None if inserted is None else int(inserted)
        inserted = (await conn.execute(_INSERT_ONCE, row)).scalar_one_or_none()
        if inserted is None:
            return None
        await conn.execute(_EVENT, {**event, "admission_id": inserted})
        return int(inserted)

    async def insert_unless_marked(
        self, row: dict[str, Any], *, event: Mapping[str, Any]
    ) -> tuple[bool, int | None]:
        conn = await self._session.connection()
        if conn.dialect.name == "postgresql":
            params = {**row, **{f"e_{name}": value for name, value in event.items()}}
            ((marked, inserted),) = await _INSERT_UNLESS_MARKED.rows(conn, params)
            return bool(marked), None if inserted is None else int(inserted)
        mark = (await conn.execute(LAST_MARK, row)).scalar()
        if mark == "mark":
            return True, None
        return False, await self.insert_once(row, event=event)

    async def set_response(self, admission_id: int, response: dict[str, Any]) -> None:
        conn = await self._session.connection()
        await conn.execute(_SET_RESPONSE, {"admission_id": admission_id, "b_response": response})

    async def find(
        self, *, hospital_code: str, visit_id: str, for_update: bool = False
    ) -> Admission | None:
        query = select(Admission).where(
            Admission.hospital_code == hospital_code, Admission.visit_id == visit_id
        )
        if for_update:
            query = query.with_for_update()
        return (await self._session.exec(query)).first()

    async def visible(
        self, *, principal: Principal, hospital_code: str, visit_id: str
    ) -> Admission | None:
        seen = visible_to(
            principal,
            hospital_code=col(Admission.hospital_code),
            county_code=col(Admission.county_code),
        )
        query = select(Admission).where(
            col(Admission.hospital_code) == hospital_code,
            col(Admission.visit_id) == visit_id,
            *seen,
        )
        return (await self._session.exec(query)).first()

    async def by_id(self, admission_id: int) -> Admission | None:
        return await self._session.get(Admission, admission_id)

    async def find_deposit(self, admission_id: int, receipt_no: str) -> AdmissionDeposit | None:
        query = select(AdmissionDeposit).where(
            AdmissionDeposit.admission_id == admission_id,
            AdmissionDeposit.receipt_no == receipt_no,
        )
        return (await self._session.exec(query)).first()

    async def add_deposit(self, deposit: AdmissionDeposit) -> None:
        await add_once(self._session, deposit)

    async def save(self, *rows: SQLModel) -> None:
        self._session.add_all(rows)
        await self._session.flush()
