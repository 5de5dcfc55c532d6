"""年度补足入账明细: the rows the year-end runs booked for a region's plan year, as CSV or XLSX
with Chinese headers: one function for the API and the console (`payments_download`).

Built on the ledger's streamed writers (service/violations/export.py `response`): amounts are
numbers in XLSX, every text cell is inert, persons appear masked. The scope is checked and the
funds' totals are read (for the sheet's caption) in a short unit of work before anything is
sent, so a refusal is a problem response; the rows are then read a keyset page at a time in a
unit of work of their own, as the response streams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal
from service.base import utcnow
from service.china_time import CHINA_TZ
from service.unit_of_work import unit_of_work
from service.violations.export import Cell, response
from service.violations.labels import label
from service.yearend.labels import FUND_LABELS
from service.yearend.schemas import YearEndFundTotalPublic, YearEndPaymentPublic
from service.yearend.service import every_payment, fund_totals

TITLE = "年度补足入账"
PAYMENT_HEADERS = (
    "编号", "人员(脱敏)", "参保县区", "险种年度", "补足项目", "项目编码", "支付基金", "序号",
    "本次入账", "年度应补", "计入结算笔数", "结算号", "政策范围内费用", "个人自付", "扣除额",
    "补足后个人负担", "政策版本", "批次号", "办理人", "入账时间",
)  # fmt: skip
PAYMENT_WIDTHS = (8, 20, 10, 8, 30, 20, 12, 6, 12, 12, 8, 24, 14, 12, 12, 14, 20, 34, 20, 18)


def payment_row(p: YearEndPaymentPublic) -> list[Cell]:
    return [
        p.id, p.person_masked, p.pool, p.plan_year, p.name, p.code,
        label(FUND_LABELS, p.fund_type), p.seq, Decimal(p.amount), Decimal(p.year_total),
        p.stays, "、".join(str(i) for i in p.settlement_ids), Decimal(p.cost),
        Decimal(p.self_pay), Decimal(p.deductible), Decimal(p.patient_after),
        p.policy_version, p.run_id, p.booked_by, p.created_at.astimezone(CHINA_TZ),
    ]  # fmt: skip


def caption(region_code: str, plan_year: int, funds: list[YearEndFundTotalPublic]) -> str:
    totals = "，".join(f"{label(FUND_LABELS, f.fund_type)} {f.total}" for f in funds) or "无"
    now = utcnow().astimezone(CHINA_TZ)
    return (
        f"{TITLE} · 地区 {region_code} · {plan_year} 年度 · 各基金合计：{totals}"
        f" · 导出于 {now:%Y-%m-%d %H:%M}（北京时间）"
    )


async def payment_rows(
    maker: async_sessionmaker[AsyncSession],
    *,
    principal: Principal,
    region_code: str,
    plan_year: int,
) -> AsyncIterator[list[Cell]]:
    async with unit_of_work(maker) as uow:
        async for payment in every_payment(
            uow, principal=principal, region_code=region_code, plan_year=plan_year
        ):
            yield payment_row(payment)


async def payments_download(
    fmt: str,
    maker: async_sessionmaker[AsyncSession],
    *,
    principal: Principal,
    region_code: str,
    plan_year: int,
) -> StreamingResponse:
    """年度补足入账明细 as a download, the same for the API and the console."""
    async with unit_of_work(maker) as uow:
        funds = await fund_totals(
            uow, principal=principal, region_code=region_code, plan_year=plan_year
        )
    rows = payment_rows(maker, principal=principal, region_code=region_code, plan_year=plan_year)
    return await response(
        fmt,
        TITLE,
        PAYMENT_HEADERS,
        rows,
        stem=f"year-end-{region_code}-{plan_year}",
        caption=caption(region_code, plan_year, funds),
        widths=PAYMENT_WIDTHS,
    )
