"""The one-stop settlement slip (一站式结算单) as a printable HTML page."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth import Principal
from service.receivables import service as receivables_service
from service.regions.models import Hospital
from service.settlements import service
from service.settlements.capitals import capital_amount
from service.settlements.context import china_date
from service.settlements.slip_words import percent, ratio_words

LAYOUTS = ("a4", "receipt")
"""a4: the full slip on an A4 page; receipt: one column for the 80 mm printers desks use."""


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("service.settlements", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["percent"] = percent
    environment.filters["ratio_words"] = ratio_words
    return environment


async def render_slip(
    session: AsyncSession, *, principal: Principal, settlement_id: int, layout: str = "a4"
) -> str:
    row, reversal = await service.stored(session, principal=principal, settlement_id=settlement_id)
    hospital = await session.get(Hospital, row.hospital_code)
    admission = await session.get(Admission, row.admission_id)
    settlement = service.public(row, reversal)
    # 先诊疗后付费: the share's due date and instalment schedule, where the patient has one.
    receivable = await receivables_service.for_settlement(
        session, principal=principal, settlement_id=settlement_id
    )
    return (
        _environment()
        .get_template("slip.html")
        .render(
            layout=layout,
            s=settlement,
            hospital_name=hospital.name if hospital is not None else row.hospital_code,
            name_masked=admission.name_masked if admission is not None else "",
            admitted_on=china_date(row.admitted_at).isoformat(),
            discharged_on=china_date(row.discharged_at).isoformat(),
            patient_capitals=capital_amount(row.patient_pays_fen),
            funds_capitals=capital_amount(row.funds_total_fen),
            receivable=receivable,
        )
    )
