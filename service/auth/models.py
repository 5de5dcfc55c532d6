from __future__ import annotations

from datetime import datetime

from service.base import Field, SQLModel, created_at_field, timestamp_field

PREFIX_MOST = 16
"""The longest prefix a stored key can have: a longer one is unknown without asking."""


class ApiKey(SQLModel, table=True):
    """An API key: the public prefix finds the row, the secret is kept only as a SHA-256."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=PREFIX_MOST, unique=True)
    secret_sha256: str = Field(max_length=64)
    role: str = Field(max_length=16)
    hospital_code: str | None = Field(default=None, max_length=32)
    region_prefix: str | None = Field(default=None, max_length=6)
    fund_code: str | None = Field(default=None, max_length=32)
    label: str = Field(default="", max_length=128)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)
    # The console form the key was issued from (its one-time token): a form posted twice (a
    # double click) issues one key. None: issued by the API or the CLI.
    issue_form: str | None = Field(default=None, max_length=32, unique=True)
