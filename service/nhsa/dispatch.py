"""Which transaction numbers are offered, and the handler of each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.nhsa import admission, audit, person, settlement, statement
from service.nhsa.call import Call
from service.nhsa.errors import UnknownTransaction, WrongInstitution

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
    handler = TRANSACTIONS.get(envelope.infno)
    if handler is None:
        offered = ", ".join(TRANSACTIONS)
        reason = NOT_YET.get(envelope.infno, f"transaction {envelope.infno} is not offered")
        raise UnknownTransaction(f"{reason}; offered: {offered}", field="infno")
    return await handler(call)
