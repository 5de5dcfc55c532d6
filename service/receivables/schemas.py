"""Receivables' API models: inputs forbid unknown fields; amounts out as two-place strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from service.idtext import Identifier, Prose
from service.money import Amount
from service.schemas import InputModel

Method = Literal["cash", "bank_card", "wechat_pay", "alipay"]
Channel = Literal["sms", "phone", "letter", "visit"]
HIS_ID = r"^[A-Za-z0-9_./:-]+$"


class ReceivablePaymentCreate(InputModel):
    his_payment_id: Identifier = Field(min_length=1, max_length=64, pattern=HIS_ID)
    method: Method = Field(
        description="cash 现金, bank_card 银行卡, wechat_pay 微信, alipay 支付宝"
    )
    receipt_no: Identifier = Field(
        min_length=1, max_length=64, pattern=HIS_ID, description="收据号"
    )
    amount: Amount
    paid_at: AwareDatetime


class InstalmentCreate(InputModel):
    due_on: date
    amount: Amount


class ScheduleCreate(InputModel):
    instalments: list[InstalmentCreate] = Field(min_length=1, max_length=36)


class ReminderCreate(InputModel):
    channel: Channel
    sent_at: AwareDatetime


class MarkCreate(InputModel):
    reason: Prose = Field(min_length=1, max_length=500)


class ReceivablePaymentPublic(BaseModel):
    id: int
    his_payment_id: str
    method: Method
    receipt_no: str
    amount: str
    paid_at: datetime
    recorded_by: str


class InstalmentPublic(BaseModel):
    seq: int
    due_on: date
    amount: str
    covered: str = Field(description="what the payments so far cover of this instalment")
    overdue: bool


class DroppedInstalmentPublic(BaseModel):
    seq: int
    due_on: date
    amount: str
    agreed_at: datetime
    dropped_at: datetime = Field(
        description="when the stay's final settlement it was agreed on was reversed"
    )
    dropped_by: int | None = Field(
        description="that settlement reversal's id (null: dropped by migration 0018, which "
        "could not tell)"
    )


class ReminderPublic(BaseModel):
    channel: Channel
    sent_at: datetime
    recorded_by: str


class ReceivablePublic(BaseModel):
    id: int
    settlement_id: int
    hospital_code: str
    visit_id: str
    person_masked: str
    amount_due: str
    paid: str
    outstanding: str
    discharged_at: datetime | None = Field(
        description="the stay's discharge the share is owed from; null while a stage's share "
        "(中途结算) waits for the stay's final settlement"
    )
    due_on: date | None = Field(
        description="the day it falls due (the policy's days after discharge); null while the "
        "stay is not discharged: not due, not overdue, nothing to remind or mark"
    )
    status: Literal["open", "paid", "cancelled"]
    overdue: bool
    overdue_since: date | None
    days_overdue: int
    may_mark_defaulter_from: date | None
    refund_due: str = Field(description="paid before the settlement was reversed: refund it")
    cancelled_at: datetime | None
    defaulter: bool
    instalments: list[InstalmentPublic]
    dropped_instalments: list[DroppedInstalmentPublic] = Field(
        default=[],
        description="schedules agreed on a discharge since reversed (a stage's share whose "
        "stay's final settlement was reversed): history, not owed by those dates",
    )
    payments: list[ReceivablePaymentPublic] = []
    reminders: list[ReminderPublic] = []


class MarkPublic(BaseModel):
    id: int
    hospital_code: str
    person_masked: str
    receivable_id: int
    action: Literal["mark", "unmark"]
    reason: str
    reminders_sent: int
    actor: str
    created_at: datetime
    violation_booked: str | None = None


class OverdueSummary(BaseModel):
    hospital_code: str | None
    count: int = Field(description="Every overdue receivable in scope, listed or not")
    outstanding: str = Field(description="What all of them still owe, yuan")
    oldest_days: int = Field(description="Days overdue of the oldest listed (earliest due first)")
    receivables: list[ReceivablePublic] = Field(
        description="The first `limit` of them, earliest due first"
    )


def positive(amount: Decimal) -> bool:
    return amount > 0
