"""Administrative regions (行政区划) and the hospitals inside them."""

from __future__ import annotations

from datetime import datetime

from service.base import Field, SQLModel, created_at_field, unique_by_case


class Region(SQLModel, table=True):
    __tablename__ = "regions"

    code: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=64)
    level: str = Field(max_length=16)  # province | prefecture | county
    parent_code: str | None = Field(default=None, max_length=6, index=True)
    created_at: datetime = created_at_field()


class Hospital(SQLModel, table=True):
    __tablename__ = "hospitals"
    __table_args__ = (unique_by_case("hospitals"),)

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=128)
    county_code: str = Field(max_length=6, index=True)
    level: str = Field(max_length=16)  # primary | secondary | tertiary (一级/二级/三级)
    tier: str = Field(max_length=16)  # township | county | city | province
    designated: bool = Field(default=True)  # 先诊疗后付费 designated hospital
    created_at: datetime = created_at_field()


def region_chain(code: str) -> tuple[str, ...]:
    """A county code and the prefecture and province above it, most specific first."""
    chain = [code, code[:4] + "00", code[:2] + "0000"]
    return tuple(dict.fromkeys(chain))
