"""The platform's message envelope (交易报文) in and out, and its time formats.

Times in messages are China Standard Time without an offset (`yyyy-MM-dd HH:mm:ss`), as the
platform writes them; an ISO time with an offset is accepted too.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from service.base import utcnow
from service.china_time import CHINA_TZ
from service.dates import FilterDay
from service.idtext import PlainLine
from service.schemas import REGION_CODE, InputModel

PLATFORM_TIME = "%Y-%m-%d %H:%M:%S"
PLATFORM_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_time(value: Any) -> Any:
    """`2024-03-10 10:00:00` (China time) or ISO 8601 with an offset, to an aware datetime."""
    if not isinstance(value, str):
        return value
    if not value.isascii():
        # strptime reads full-width and Arabic-Indic digits as 0-9, as Decimal reads them in
        # an amount (service/money.py refuses those): a time is written in ASCII digits too.
        raise ValueError("expected yyyy-MM-dd HH:mm:ss in the digits 0-9 (China time)")
    try:
        return datetime.strptime(value, PLATFORM_TIME).replace(tzinfo=CHINA_TZ)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("expected yyyy-MM-dd HH:mm:ss (China time)") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=CHINA_TZ)
    return parsed


def parse_date(value: Any) -> Any:
    """`2024-03-10`, and only that: a number or a time is not a day of a statement."""
    if not isinstance(value, str) or not PLATFORM_DATE.match(value):
        raise ValueError("expected yyyy-MM-dd (a China calendar day)")
    return date.fromisoformat(value)


def _plausible(value: datetime) -> datetime:
    if not 1990 <= value.year <= 2100:
        raise ValueError("the year is outside 1990..2100")
    return value


PlatformTime = Annotated[datetime, BeforeValidator(parse_time), AfterValidator(_plausible)]
PlatformDate = Annotated[FilterDay, BeforeValidator(parse_date)]
"""A day of a query (对账开始/结束日期): 2000-01-01 to 2099-12-31, as any filter day (ADR 0012)."""


def blank_is_none(value: Any) -> Any:
    return None if value == "" else value


AdmdvsCode = Annotated[str, Field(pattern=REGION_CODE)]
Admdvs = Annotated[AdmdvsCode | None, BeforeValidator(blank_is_none)]


def platform_time(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime(PLATFORM_TIME)


def stamp(at: datetime) -> str:
    """`yyyyMMddHHmmssSSS` (refmsg_time, respond_time)."""
    local = at.astimezone(CHINA_TZ)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


class Envelope(InputModel):
    """交易输入报文. Every field the platform documents is accepted; others are refused."""

    infno: str = Field(min_length=1, max_length=6, description="交易编号, e.g. 2304")
    # Written into what a message stores (2404's reason; 2304's key when medins_setl_id is
    # absent): one line of visible text, as an identifier of the JSON API. Not checked for a
    # resident ID number: a msgid is a long run of digits (institution, time, serial), and one
    # that happened to hold a valid number would refuse a real message; it is masked where stored.
    msgid: Annotated[str, PlainLine] = Field(
        min_length=1, max_length=30, description="发送方报文ID"
    )
    mdtrtarea_admvs: Admdvs = Field(description="就医地医保区划")
    insuplc_admdvs: Admdvs = Field(default=None, description="参保地医保区划")
    recer_sys_code: str = Field(max_length=10, description="接收方系统代码")
    dev_no: str | None = Field(default=None, max_length=100)
    dev_safe_info: str | None = Field(default=None, max_length=2000)
    cainfo: str | None = Field(default=None, max_length=1024)
    signtype: str | None = Field(default=None, max_length=10)
    infver: str = Field(max_length=6, description="接口版本号, e.g. V1.0")
    opter_type: str | None = Field(default=None, max_length=3)
    opter: str = Field(max_length=30, description="经办人")
    opter_name: str = Field(max_length=50, description="经办人姓名")
    inf_time: PlatformTime = Field(description="交易时间, yyyy-MM-dd HH:mm:ss")
    fixmedins_code: str = Field(min_length=1, max_length=30, description="定点医药机构编号")
    fixmedins_name: str | None = Field(default=None, max_length=200)
    # 签到流水号 is 30 in the national document; a 32-character hex UUID is seen. Ignored here.
    sign_no: str | None = Field(default=None, max_length=100)
    fixmedins_soft_fcty: str | None = Field(
        default=None, max_length=200, description="定点医药机构软件厂商 (some provinces; ignored)"
    )
    app_id: str | None = Field(default=None, max_length=100, description="渠道id (Fujian; ignored)")
    enc_type: Literal[""] | None = Field(
        default=None, description="加密方式: empty (not encrypted); an encrypted input is not read"
    )
    input: dict[str, Any] = Field(description="交易输入: the transaction's nodes (data, ...)")


class Answer(BaseModel):
    """交易输出报文. `infcode` 0 is success, -1 failure with `err_msg` `[code] detail`."""

    infcode: int = Field(description="0 success, -1 failure")
    inf_refmsgid: str = Field(description="接收方报文ID")
    refmsg_time: str = Field(description="接收报文时间 yyyyMMddHHmmssSSS")
    respond_time: str = Field(description="响应报文时间 yyyyMMddHHmmssSSS")
    err_msg: str | None = Field(description="`[stable code] detail (field: ...)` on failure")
    output: dict[str, Any] | None


def refmsgid(admvs: str | None, at: datetime) -> str:
    """接收方报文ID: 区划(6) + time(14) + sequence(10)."""
    serial = f"{secrets.randbelow(10**10):010d}"
    return (admvs or "000000") + at.astimezone(CHINA_TZ).strftime("%Y%m%d%H%M%S") + serial


def answer(
    *,
    received_at: datetime,
    admvs: str | None,
    output: dict[str, Any] | None = None,
    error: str | None = None,
) -> Answer:
    now = utcnow()
    return Answer(
        infcode=0 if error is None else -1,
        inf_refmsgid=refmsgid(admvs, received_at),
        refmsg_time=stamp(received_at),
        respond_time=stamp(now),
        err_msg=error,
        output=output if error is None else None,
    )
