"""Funds, closed clearing statements with their lines, and the funds' payments to hospitals.

An open statement is computed from the settlements and reversals; only closing writes it. A
closed statement and its lines are never updated or deleted (corrections land in a later
period), and a line (a settlement or a reversal, for one fund) belongs to at most one closed
statement: the unique constraint on (fund_code, kind, settlement_id) says so.
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
    unique_by_case,
)


class Fund(SQLModel, table=True):
    """A party that pays one kind of layer in a region (data, not code): the basic pool
    (医保基金), the critical-illness insurer (大病保险承办机构), medical aid (医疗救助), ..."""

    __tablename__ = "funds"
    __table_args__ = (sa.UniqueConstraint("fund_type", "region_code"), unique_by_case("funds"))

    code: str = Field(primary_key=True, max_length=32)
    fund_type: str = Field(max_length=32)  # the policy layers' `fund_type`
    region_code: str = Field(max_length=6)  # prefix of the insured pool it pays for
    name: str = Field(max_length=128)
    owner: str = Field(max_length=128)  # who runs it: 医保局, the insurer, 民政局 ...
    created_at: datetime = created_at_field()


class ClearingStatement(SQLModel, table=True):
    """A closed statement (清算单) of one fund for one hospital and period."""

    __tablename__ = "clearing_statements"
    __table_args__ = (sa.UniqueConstraint("fund_code", "hospital_code", "period"),)

    id: int | None = id_field()
    fund_code: str = Field(foreign_key="funds.code", max_length=32)
    hospital_code: str = Field(max_length=32)
    county_code: str = Field(max_length=6)
    period: str = Field(max_length=7)  # YYYY-MM, China time
    medfee_fen: int = fen_field()
    fund_pay_fen: int = fen_field()
    fund_own_fen: int = fen_field()
    psn_cash_fen: int = fen_field()
    settlement_count: int
    line_count: int
    prev_hash: str = Field(max_length=64)
    content_hash: str = Field(max_length=64)
    closed_by: str = Field(max_length=64)
    closed_at: datetime = created_at_field()


class ClearingStatementLine(SQLModel, table=True):
    """One settlement (+) or reversal (-) in a closed statement, amounts signed."""

    __tablename__ = "clearing_statement_lines"
    __table_args__ = (sa.UniqueConstraint("fund_code", "kind", "settlement_id"),)

    id: int | None = id_field()
    statement_id: int = Field(
        foreign_key="clearing_statements.id", sa_type=sa.BigInteger, index=True
    )
    fund_code: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # settlement | reversal
    settlement_id: int = Field(sa_type=sa.BigInteger)
    reversal_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    visit_id: str = Field(max_length=64)
    his_settlement_id: str = Field(max_length=64)
    person_masked: str = Field(max_length=32)
    dated_at: datetime = Field(sa_type=UTCDateTime)
    adjustment: bool
    medfee_fen: int = fen_field()
    fund_pay_fen: int = fen_field()
    fund_own_fen: int = fen_field()
    psn_cash_fen: int = fen_field()


class ClearingPayment(SQLModel, table=True):
    """A fund's payment (拨付) of a closed statement to the hospital; idempotent by reference."""

    __tablename__ = "clearing_payments"
    __table_args__ = (
        sa.UniqueConstraint("fund_code", "reference"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: int | None = id_field()
    statement_id: int = Field(
        foreign_key="clearing_statements.id", sa_type=sa.BigInteger, index=True
    )
    fund_code: str = Field(max_length=32)
    amount_fen: int = fen_field()
    paid_on: date
    reference: str = Field(max_length=64)
    recorded_by: str = Field(max_length=64)
    created_at: datetime = created_at_field()


class ClearingReconciliation(SQLModel, table=True):
    """One upload of a fund's detail file (对账) and the answer it got, kept as answered so the
    fund (and the hospital, and auditors) can read it again. Never updated: a new upload is a
    new row; the statement it was compared with is named (its id once closed, and its hash)."""

    __tablename__ = "clearing_reconciliations"
    __table_args__ = (
        sa.Index("ix_clearing_reconciliations_scope", "fund_code", "hospital_code", "period"),
    )

    id: int | None = id_field()
    fund_code: str = Field(foreign_key="funds.code", max_length=32)
    hospital_code: str = Field(max_length=32)
    county_code: str = Field(max_length=6)
    period: str = Field(max_length=7)
    statement_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    statement_status: str = Field(max_length=16)
    statement_hash: str | None = Field(default=None, max_length=64)
    file_sha256: str = Field(max_length=64)
    balanced: bool
    difference_fen: int = fen_field()
    result: dict[str, Any] = json_field()
    uploaded_by: str = Field(max_length=64)
    created_at: datetime = created_at_field()
