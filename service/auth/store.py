"""Where API keys are read and written (cold paths, ORM)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service import db
from service.auth.models import ApiKey


class SqlKeyStore:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: ApiKey) -> ApiKey:
        """`Duplicate` if a unique value is taken (the console form it was issued from)."""
        await db.add_once(self._session, key)
        return key

    async def get(self, key_id: int, *, lock: bool = False) -> ApiKey | None:
        """The key; `lock` holds its row until the commit (PostgreSQL; SQLite writers are
        serialised), so a second change waits and then reads what the first stored."""
        return await self._session.get(ApiKey, key_id, with_for_update=lock)

    async def save(self, key: ApiKey) -> None:
        self._session.add(key)
        await self._session.flush()

    async def all(self) -> list[ApiKey]:
        return list((await self._session.exec(select(ApiKey).order_by(col(ApiKey.id)))).all())

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        result = await self._session.exec(select(ApiKey).where(ApiKey.prefix == prefix))
        return result.first()

    async def labels(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        query = select(ApiKey.id, ApiKey.label).where(col(ApiKey.id).in_(ids))
        rows = await self._session.exec(query)
        return {key_id: label for key_id, label in rows.all() if key_id is not None}
