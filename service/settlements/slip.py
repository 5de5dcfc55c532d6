"""The one-stop settlement slip (一站式结算单) as a printable HTML page."""

from __future__ import annotations

import re
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from service.auth import Principal
from service.china_time import local_date, to_the_minute
from service.receivables import service as receivables_service
from service.security_headers import style_hash
from service.settlements import service
from service.settlements.capitals import capital_amount
from service.settlements.slip_words import percent, ratio_words
from service.unit_of_work import UnitOfWork

LAYOUTS = ("a4", "receipt")
"""a4: the full slip on an A4 page; receipt: one column for the 80 mm printers desks use."""

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


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
    environment.filters["china_time"] = to_the_minute
    return environment


async def render_slip(
    uow: UnitOfWork, *, principal: Principal, settlement_id: int, layout: str = "a4"
) -> str:
    row, reversal = await service.stored(uow, principal=principal, settlement_id=settlement_id)
    hospital = await uow.regions.hospital(row.hospital_code)
    admission = await uow.admissions.by_id(row.admission_id)
    settlement = service.public(row, reversal)
    # 先诊疗后付费: the share's due date and instalment schedule, where the patient has one.
    receivable = await receivables_service.for_settlement(
        uow, principal=principal, settlement_id=settlement_id
    )
    return (
        _environment()
        .get_template("slip.html")
        .render(
            layout=layout,
            s=settlement,
            hospital_name=hospital.name if hospital is not None else row.hospital_code,
            name_masked=admission.name_masked if admission is not None else "",
            admitted_on=local_date(row.admitted_at).isoformat(),
            discharged_on=local_date(row.discharged_at).isoformat(),
            patient_capitals=capital_amount(row.patient_pays_fen),
            funds_capitals=capital_amount(row.funds_total_fen),
            receivable=receivable,
        )
    )


def slip_headers(html: str) -> dict[str, str]:
    """A strict policy for the slip: no script, nothing loaded, only its own inline style (by
    hash, so an injected <style> or style attribute is not applied either)."""
    styles = " ".join(style_hash(css) for css in _STYLE.findall(html)) or "'none'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {styles}; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        )
    }
