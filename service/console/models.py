from __future__ import annotations

from datetime import datetime

from service.base import Field, SQLModel, created_at_field, id_field, timestamp_field


class ConsoleSession(SQLModel, table=True):
    """A signed-in console browser. The cookie holds a random token; only its SHA-256 is kept,
    so a copy of this table signs nobody in. Logout sets `ended_at`; every replica reads it."""

    __tablename__ = "console_sessions"

    id: int | None = id_field()
    token_sha256: str = Field(max_length=64, unique=True)
    key_id: int = Field(foreign_key="api_keys.id", index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field()
    ended_at: datetime | None = timestamp_field(nullable=True)
