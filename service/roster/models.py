"""Snapshot tables. Entries of a snapshot being loaded are invisible: readers go through the
one-row `roster_active` pointer, flipped in one transaction when a load has finished."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from service.base import Field, SQLModel, UTCDateTime, created_at_field, id_field, json_field


class RosterSnapshot(SQLModel, table=True):
    __tablename__ = "roster_snapshots"

    id: int | None = id_field()
    source_name: str = Field(max_length=255)
    file_sha256: str = Field(default="", max_length=64)
    taken_at: datetime = Field(sa_type=UTCDateTime)  # when the offices extracted the roster
    state: str = Field(default="loading", max_length=16)  # loading|active|superseded|failed
    rows_read: int = Field(default=0, sa_type=sa.BigInteger)
    rows_loaded: int = Field(default=0, sa_type=sa.BigInteger)
    rows_rejected: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = created_at_field()
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The insured counties the roster lists, sorted: a person missing from the snapshot in a
    # county it does not cover is not "not registered" (ADR 0011). None: loaded before
    # migration 0012.
    counties: list[str] | None = json_field(nullable=True)


class RosterEntry(SQLModel, table=True):
    """One person in one category. Person-level facts repeat on each of their rows."""

    __tablename__ = "roster_entries"
    __table_args__ = (sa.Index("ix_roster_entries_snapshot_person", "snapshot_id", "person_key"),)

    id: int | None = id_field()
    snapshot_id: int = Field(sa_type=sa.BigInteger)
    person_key: str = Field(max_length=64)
    person_masked: str = Field(max_length=32)
    insured_county: str = Field(max_length=6)
    category: str = Field(max_length=40)
    valid_from: date
    valid_to: date | None = None
    deceased: bool = False
    family_doctor_until: date | None = None
    chronic_card_until: date | None = None
    line_no: int = Field(default=0, sa_type=sa.BigInteger)


class RosterPointer(SQLModel, table=True):
    """Which snapshot answers. One row, name 'active'."""

    __tablename__ = "roster_active"

    name: str = Field(default="active", primary_key=True, max_length=16)
    snapshot_id: int = Field(sa_type=sa.BigInteger)
    switched_at: datetime = created_at_field()


# What a roster file says of a person besides the ID number (which becomes person_key and
# person_masked), in the entry's order: service/roster/rows.py reads a file's columns by it.
ROW_FACTS = (
    "insured_county",
    "category",
    "valid_from",
    "valid_to",
    "deceased",
    "family_doctor_until",
    "chronic_card_until",
)
ENTRY_COLUMNS = ("snapshot_id", "person_key", "person_masked", *ROW_FACTS, "line_no")
