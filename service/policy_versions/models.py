"""Policy versions as loaded into the running service; a settlement records the hash it used."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from service.base import Field, SQLModel, created_at_field


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "policy_versions"
    __table_args__ = (sa.UniqueConstraint("region_code", "effective_from"),)

    id: int | None = Field(default=None, primary_key=True)
    region_code: str = Field(max_length=6, index=True)
    version: str = Field(max_length=64)
    name: str = Field(max_length=200)
    effective_from: date
    effective_to: date | None = None
    inherits: str | None = Field(default=None, max_length=6)
    content_hash: str = Field(max_length=64, unique=True)
    source_text: str = Field(sa_type=sa.Text)
    loaded_by: str = Field(default="", max_length=64)
    created_at: datetime = created_at_field()


class PolicyVersionEvent(SQLModel, table=True):
    """The version history of a region (ADR 0018): every load, succession, closing, withdrawal
    and reopening, with who did it, when and why. Rows are only ever added."""

    __tablename__ = "policy_version_events"

    id: int | None = Field(default=None, primary_key=True)
    region_code: str = Field(max_length=6, index=True)
    version: str = Field(max_length=64)
    content_hash: str = Field(max_length=64)
    action: str = Field(max_length=16)  # loaded | closed | withdrawn | reopened
    effective_from: date
    effective_to: date | None = None  # the window after the action
    actor: str = Field(max_length=64)
    reason: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
