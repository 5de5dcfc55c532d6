"""The patient's share under pay-after-treatment (先诊疗后付费): receivables, payments,
instalments, reminders, overdue lists and defaulter marks. Hospitals act on their own;
auditors read their region; admins read everything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from service.auth.deps import AuditorOrHospitalDep, HospitalDep
from service.base import MAX_ROW_ID
from service.dates import FIRST_YEAR, LAST_YEAR
from service.deps import DateWindowDep
from service.receivables import defaulters, indicators, service
from service.receivables.schemas import (
    MarkCreate,
    MarkPublic,
    OverdueSummary,
    ReceivablePaymentCreate,
    ReceivablePublic,
    ReminderCreate,
    ScheduleCreate,
)
from service.routers.params import CodeFilter, RowId, capped_limit
from service.routers.replays import answer_recorded
from service.routers.routes import read, recording
from service.schemas import PlainDigits
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])

_REPLAYED = "the receivable, as the same request left it before (a replay)"
Limit = Annotated[int, capped_limit(100)]


@read(router, "", "The receivable of a settlement (empty: none, or not yours to see)")
async def by_settlement(
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    settlement_id: Annotated[int, Query(ge=1, le=MAX_ROW_ID), PlainDigits],
) -> list[ReceivablePublic]:
    found = await service.for_settlement(uow, principal=principal, settlement_id=settlement_id)
    return [] if found is None else [found]


@read(router, "/overdue", "逾期清单: open receivables past due (or with an instalment past due)")
async def overdue(
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    limit: Limit,
    hospital_code: CodeFilter = None,
) -> OverdueSummary:
    return await service.overdue_list(
        uow,
        principal=principal,
        hospital_code=hospital_code,
        limit=limit,
    )


@read(
    router,
    "/indicators",
    "先诊疗后付费 indicators per hospital and county: share settled under it, "
    "collection rate, overdue amount and age",
)
async def pay_after_treatment_indicators(
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    year: Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR), PlainDigits],
) -> indicators.PayAfterTreatmentIndicators:
    return await indicators.pay_after_treatment(uow, principal=principal, year=year)


@read(
    router, "/defaulters", "Defaulter marks and their removals (who, by whom, when), newest first"
)
async def defaulter_history(
    uow: UnitOfWorkDep,
    principal: AuditorOrHospitalDep,
    limit: Limit,
    hospital_code: CodeFilter = None,
) -> list[MarkPublic]:
    return await defaulters.history(
        uow,
        principal=principal,
        hospital_code=hospital_code,
        limit=limit,
    )


@read(router, "/{receivable_id}", not_found=True)
async def get_receivable(
    receivable_id: RowId, uow: UnitOfWorkDep, principal: AuditorOrHospitalDep
) -> ReceivablePublic:
    return await service.get(uow, principal=principal, receivable_id=receivable_id)


@recording(
    router.post,
    "/{receivable_id}/payments",
    "Record a payment of the patient's share; idempotent by his_payment_id",
    replayed=(_REPLAYED, ReceivablePublic),
)
async def pay(
    receivable_id: RowId,
    body: ReceivablePaymentCreate,
    response: Response,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    window: DateWindowDep,
) -> ReceivablePublic:
    recorded = await service.pay(
        uow, principal=principal, receivable_id=receivable_id, body=body, window=window
    )
    return answer_recorded(response, recorded)


@recording(
    router.post,
    "/{receivable_id}/instalments",
    "分期付款: the instalment schedule agreed at discharge (once)",
    replayed=(_REPLAYED, ReceivablePublic),
)
async def schedule(
    receivable_id: RowId,
    body: ScheduleCreate,
    response: Response,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
) -> ReceivablePublic:
    recorded = await service.agree_schedule(
        uow, principal=principal, receivable_id=receivable_id, body=body
    )
    return answer_recorded(response, recorded)


@recording(
    router.post,
    "/{receivable_id}/reminders",
    "催缴: record a reminder sent to the patient; the same channel and sent_at again is a replay",
    replayed=(_REPLAYED, ReceivablePublic),
)
async def remind(
    receivable_id: RowId,
    body: ReminderCreate,
    response: Response,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    window: DateWindowDep,
) -> ReceivablePublic:
    recorded = await service.remind(
        uow, principal=principal, receivable_id=receivable_id, body=body, window=window
    )
    return answer_recorded(response, recorded)


@recording(
    router.post,
    "/{receivable_id}/defaulter",
    "恶意拖欠: mark the person a defaulter (after the policy's grace period)",
)
async def mark_defaulter(
    receivable_id: RowId,
    body: MarkCreate,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    window: DateWindowDep,
) -> MarkPublic:
    return await defaulters.mark(
        uow, principal=principal, receivable_id=receivable_id, body=body, window=window
    )


@recording(
    router.post,
    "/{receivable_id}/defaulter/removal",
    "Lift a defaulter mark (the mark stays in the history)",
)
async def unmark_defaulter(
    receivable_id: RowId,
    body: MarkCreate,
    uow: UnitOfWorkDep,
    principal: HospitalDep,
    window: DateWindowDep,
) -> MarkPublic:
    return await defaulters.unmark(
        uow, principal=principal, receivable_id=receivable_id, body=body, window=window
    )
