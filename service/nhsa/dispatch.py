"""Which transaction numbers are offered, and the handler of each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.nhsa import admission, audit, person, settlement, statement
from service.nhsa.call import Call
from service.nhsa.errors import UnknownTransaction, WrongArea, WrongInstitution
from service.regions.models import region_chain

Handler = Callable[[Call], Awaitable[dict[str, Any]]]

TRANSACTIONS: dict[str, Handler] = {
    "1101": person.person_info,
    "2401": admission.admit_visit,
    "2404": admission.cancel_visit,
    "2303": settlement.pre_settle,
    "2304": settlement.settle,
    "2305": settlement.cancel,
    "3101": audit.audit,
    "3201": statement.reconcile_totals,
}
NOT_YET = {
    "3202": "3202 (对明细账) needs its detail file uploaded first (9101 文件上传), which is not "
    "offered; the lines of a month are in GET /v1/clearing/statement",
}


async def dispatch(call: Call) -> dict[str, Any]:
    envelope = call.envelope
    if envelope.fixmedins_code != call.hospital_code:
        raise WrongInstitution(
            f"fixmedins_code {envelope.fixmedins_code} is not the hospital of this API key",
            field="fixmedins_code",
        )
    await _refuse_another_area(call)
    handler = TRANSACTIONS.get(envelope.infno)
    if handler is None:
        offered = ", ".join(TRANSACTIONS)
        reason = NOT_YET.get(envelope.infno, f"transaction {envelope.infno} is not offered")
        raise UnknownTransaction(f"{reason}; offered: {offered}", field="infno")
    return await handler(call)


async def _refuse_another_area(call: Call) -> None:
    """The place of treatment the envelope names is the hospital's, as `fixmedins_code` is the
    hospital itself: a HIS configured with another county's 就医地 would otherwise be answered
    as if it were treating there (the clearing agency `setl_optins` is held alike)."""
    area = call.envelope.mdtrtarea_admvs
    if area is None:
        return
    hospital = await call.hospitals.get(call.session, call.hospital_code)
    places = region_chain(hospital.county_code)
    if area not in places:
        raise WrongArea(
            f"mdtrtarea_admvs {area} is not where hospital {call.hospital_code} is: send the "
            f"code of its county, prefecture or province ({', '.join(places)})",
            field="mdtrtarea_admvs",
        )
