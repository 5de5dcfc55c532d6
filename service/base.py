"""Shared column types and the metadata naming convention every table model uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY auto-increments.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


MAX_ROW_ID = 2**63 - 1
"""The largest id a BIGINT row can have: a larger one names no row (and overflows the driver)."""


def row_id(text: str) -> int | None:
    """`text` as a stored row's id (a positive BIGINT in ASCII digits), else None: "²" is a
    digit to str.isdigit() that int() refuses, and "１" one that int() reads, but no id we
    answered was written so, nor with a leading zero ("03" is not row 3)."""
    if not (text.isascii() and text.isdecimal()) or len(text) > 19 or text.startswith("0"):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def unique_by_case(table: str) -> sa.Index:
    """No two codes of one table that differ only by case (`h1` beside `H1`): requests refuse
    a lower-case code (service/schemas.py `Code`); the database refuses the twin of one that
    reached it another way (migration 0017)."""
    return sa.Index(f"uq_{table}_code_upper", sa.text("upper(code)"), unique=True)


def case_twin_of(column: Any, code: str) -> SelectOfScalar[str]:
    """The stored code `column` holds for `code` in another case, the twin `unique_by_case`
    refuses (a lower-case code let in before migration 0017): a store answers it as a 409
    naming it, not the index's error."""
    return select(column).where(sa.func.upper(column) == code.upper(), column != code)


def id_field() -> Any:
    return Field(default=None, primary_key=True, sa_type=BigIntId)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, on SQLite (which stores none) as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp_field(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def fen_field(*, default: int | None = 0, nullable: bool = False) -> Any:
    """Money in integer fen, BIGINT so a province's yearly totals never overflow."""
    return Field(default=default, sa_type=sa.BigInteger, nullable=nullable)


def json_field(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_type=sa.JSON, nullable=nullable)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a table model, typed: SQLModel sets `__table__` on each table class
    but declares it on none, so every `Model.__table__` would need a `type: ignore`."""
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


__all__ = [
    "BigIntId",
    "Field",
    "SQLModel",
    "UTCDateTime",
    "created_at_field",
    "fen_field",
    "id_field",
    "json_field",
    "table_of",
    "timestamp_field",
    "utcnow",
]
