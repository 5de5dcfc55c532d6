"""All of the directory's SQL: regions and hospitals, and whether a hospital has admissions.

Services reach it as `uow.regions` (service/unit_of_work.py) and are written against the
`RegionStore` protocol. Every statement is a cold path (an admin's write, a list): the ORM.
A new row goes in with `add_once`, so a lost race is a `Duplicate` the unit of work answers
from the winner. The hot read of a hospital stays in `directory.py`, cached.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth.principal import Principal
from service.auth.visibility import region_conditions, visible_to
from service.base import case_twin_of
from service.db import add_once
from service.regions.models import Hospital, Region


class RegionStore(Protocol):
    async def region(self, code: str) -> Region | None: ...

    async def regions(self, *, prefix: str | None) -> list[Region]: ...

    async def hospital(
        self, code: str, *, principal: Principal | None = None, lock: bool = False
    ) -> Hospital | None:
        """The hospital, if it exists and (given a principal) the caller may see it; `lock`
        holds its row until the commit (PostgreSQL; SQLite writers are serialised), so a
        second change of it waits and is judged against what the first stored."""
        ...

    async def hospitals(self, *, principal: Principal, prefix: str | None) -> list[Hospital]: ...

    async def case_twin(self, code: str) -> str | None:
        """The code of a hospital stored as `code` in another case (a lower-case code let in
        before migration 0017), if there is one."""
        ...

    async def add(self, row: Region | Hospital) -> None:
        """Insert a new row; `Duplicate` if its code was taken meanwhile."""
        ...

    async def save(self, row: Region | Hospital) -> None: ...

    async def has_admissions(self, hospital_code: str) -> bool: ...


class SqlRegionStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def region(self, code: str) -> Region | None:
        return await self._session.get(Region, code)

    async def regions(self, *, prefix: str | None) -> list[Region]:
        where = region_conditions(col(Region.code), prefix) if prefix else []
        query = select(Region).where(*where).order_by(col(Region.code))
        return list((await self._session.exec(query)).all())

    async def hospital(
        self, code: str, *, principal: Principal | None = None, lock: bool = False
    ) -> Hospital | None:
        where = [] if principal is None else self._visible(principal)
        query = select(Hospital).where(col(Hospital.code) == code, *where)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self._session.exec(query)).first()

    async def hospitals(self, *, principal: Principal, prefix: str | None) -> list[Hospital]:
        where = self._visible(principal)
        if prefix:
            where += region_conditions(col(Hospital.county_code), prefix)
        query = select(Hospital).where(*where).order_by(col(Hospital.code))
        return list((await self._session.exec(query)).all())

    async def case_twin(self, code: str) -> str | None:
        return (await self._session.exec(case_twin_of(col(Hospital.code), code))).first()

    async def add(self, row: Region | Hospital) -> None:
        await add_once(self._session, row)

    async def save(self, row: Region | Hospital) -> None:
        self._session.add(row)
        await self._session.flush()

    async def has_admissions(self, hospital_code: str) -> bool:
        query = select(Admission.id).where(col(Admission.hospital_code) == hospital_code).limit(1)
        return (await self._session.exec(query)).first() is not None

    @staticmethod
    def _visible(principal: Principal) -> list[Any]:
        return visible_to(
            principal, hospital_code=col(Hospital.code), county_code=col(Hospital.county_code)
        )
