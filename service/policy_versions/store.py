"""Where policy versions are read and written (cold paths, ORM; the catalog keeps the compiled
set in process and asks only for the newest id on its refresh)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.base import table_of
from service.policy_versions.models import PolicyVersion

_versions = table_of(PolicyVersion)
_NEWEST = sa.select(sa.func.max(_versions.c.id))


class SqlPolicyVersionStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[PolicyVersion]:
        query = select(PolicyVersion).order_by(
            col(PolicyVersion.region_code), col(PolicyVersion.effective_from)
        )
        return list((await self._session.exec(query)).all())

    async def by_hash(self, content_hash: str) -> PolicyVersion | None:
        query = select(PolicyVersion).where(PolicyVersion.content_hash == content_hash)
        return (await self._session.exec(query)).first()

    async def newest_id(self) -> int | None:
        conn = await self._session.connection()
        newest = (await conn.execute(_NEWEST)).scalar_one_or_none()
        return None if newest is None else int(newest)

    async def add(self, version: PolicyVersion) -> None:
        self._session.add(version)
        await self._session.flush()
