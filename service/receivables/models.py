"""Receivables and what happens to them.

A receivable is written once per settlement with a patient share under pay-after-treatment.
Only `paid_fen`, the cancellation columns and, on a stage's share (中途结算), the discharge it
is owed from ever change, each by one guarded UPDATE (so a payment racing the settlement's
reversal is serialised on the row, and the CHECKs are the last line). Payments, instalments,
reminders and defaulter marks are append-only; an instalment is dropped (never deleted) when
the discharge its schedule was agreed on is reversed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from service.base import (
    Field,
    SQLModel,
    UTCDateTime,
    created_at_field,
    fen_field,
    id_field,
    json_field,
)


class Receivable(SQLModel, table=True):
    __tablename__ = "receivables"
    __table_args__ = (
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_due_fen", name="paid_in_range"),
        sa.CheckConstraint("(due_on IS NULL) = (discharged_at IS NULL)", name="due_with_discharge"),
        sa.Index("ix_receivables_hospital_due", "hospital_code", "status", "due_on"),
        sa.Index("ix_receivables_person", "person_key", "hospital_code"),
    )

    id: int | None = id_field()
    settlement_id: int = Field(foreign_key="settlements.id", unique=True, sa_type=sa.BigInteger)
    hospital_code: str = Field(max_length=32)
    county_code: str = Field(max_length=6)
    visit_id: str = Field(max_length=64)
    person_key: str = Field(max_length=64)
    person_masked: str = Field(max_length=32)
    amount_due_fen: int = fen_field()
    paid_fen: int = fen_field()
    # The stay's discharge and the day the share falls due from it. A stage's share (中途结算)
    # has neither while the patient is in the ward: the final settlement sets them, its
    # reversal clears them again (ADR 0025).
    discharged_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    due_on: date | None = Field(default=None, nullable=True)
    terms: dict[str, Any] = json_field()  # the policy's terms at discharge (terms.Terms)
    status: str = Field(max_length=16)  # open | paid | cancelled
    reversal_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    refund_due_fen: int = fen_field()  # what was paid when the settlement was reversed
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = created_at_field()


class ReceivablePayment(SQLModel, table=True):
    __tablename__ = "receivable_payments"
    __table_args__ = (
        sa.UniqueConstraint("hospital_code", "his_payment_id"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: int | None = id_field()
    receivable_id: int = Field(foreign_key="receivables.id", sa_type=sa.BigInteger, index=True)
    hospital_code: str = Field(max_length=32)
    his_payment_id: str = Field(max_length=64)
    method: str = Field(max_length=16)  # cash | bank_card | wechat_pay | alipay
    receipt_no: str = Field(max_length=64)
    amount_fen: int = fen_field()
    paid_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=64)
    created_at: datetime = created_at_field()


_IN_FORCE = sa.text("dropped_at IS NULL")


class Instalment(SQLModel, table=True):
    """分期付款: one dated part of the schedule agreed at discharge. The schedule falls with
    that discharge: reversing a stay's final drops its stages' schedules (`dropped_at`, and the
    settlement reversal that did it), kept as history, and a new one is agreed on the corrected
    discharge (ADR 0025, amendment 1). One schedule in force per receivable."""

    __tablename__ = "receivable_instalments"
    __table_args__ = (
        sa.Index(
            "uq_receivable_instalments_in_force",
            "receivable_id",
            "seq",
            unique=True,
            sqlite_where=_IN_FORCE,
            postgresql_where=_IN_FORCE,
        ),
    )

    id: int | None = id_field()
    receivable_id: int = Field(foreign_key="receivables.id", sa_type=sa.BigInteger)
    seq: int
    due_on: date
    amount_fen: int = fen_field()
    agreed_at: datetime = created_at_field()
    dropped_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    dropped_by: int | None = Field(default=None, sa_type=sa.BigInteger)  # settlement_reversals.id


class Reminder(SQLModel, table=True):
    """催缴: a reminder the hospital sent (its channel and when)."""

    __tablename__ = "receivable_reminders"

    id: int | None = id_field()
    receivable_id: int = Field(foreign_key="receivables.id", sa_type=sa.BigInteger, index=True)
    channel: str = Field(max_length=16)  # sms | phone | letter | visit
    sent_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=64)
    created_at: datetime = created_at_field()


class DefaulterMark(SQLModel, table=True):
    """恶意拖欠: a hospital's mark on a person, or its removal; the latest row is in force."""

    __tablename__ = "defaulter_marks"
    __table_args__ = (sa.Index("ix_defaulter_marks_person", "hospital_code", "person_key", "id"),)

    id: int | None = id_field()
    hospital_code: str = Field(max_length=32)
    county_code: str = Field(max_length=6)
    person_key: str = Field(max_length=64)
    person_masked: str = Field(max_length=32)
    receivable_id: int = Field(foreign_key="receivables.id", sa_type=sa.BigInteger)
    action: str = Field(max_length=8)  # mark | unmark
    reason: str = Field(max_length=500)
    reminders_sent: int
    actor: str = Field(max_length=64)
    created_at: datetime = created_at_field()
