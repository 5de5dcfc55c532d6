"""2303 预结算, 2304 结算, 2305 结算撤销, over the settlement service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from service.base import row_id
from service.china_time import CHINA_TZ
from service.errors import FieldProblem, ServiceError
from service.identity import identify
from service.nhsa.call import Call, build, fields_named, named_resident_id, parse
from service.nhsa.envelope import platform_time
from service.nhsa.inputs import Data2304, Input2304, Input2305
from service.nhsa.setlinfo import extension, setldetail, setlinfo
from service.settlements import service as settlements
from service.settlements.errors import SettlementNotFound, SettlementReversed
from service.settlements.schemas import (
    ReversalCreate,
    SettlementCreate,
    SettlementPreviewCreate,
    SettlementPublic,
)

REVERSAL_REASON = "2305 结算撤销"


def _request(call: Call, data: Data2304) -> dict[str, Any]:
    """The JSON API's request for the same bill (field names of SettlementPreviewCreate)."""
    extra = data.exp_content
    out_of_policy = data.fulamt_ownpay_amt + data.overlmt_selfpay + data.preselfpay_amt
    return {
        "visit_id": data.mdtrt_id,
        "discharged_at": extra.dscg_time or call.default_discharge(),
        "bill": {
            "total": data.medfee_sumamt,
            "in_policy": data.inscp_scp_amt,
            "out_of_policy": out_of_policy,
            "out_of_policy_breakdown": {
                "full_self_pay": data.fulamt_ownpay_amt,
                "over_limit_self_pay": data.overlmt_selfpay,
                "pre_self_pay": data.preselfpay_amt,
            },
        },
        "settlement_mode": extra.settlement_mode,
        "external_amounts": extra.external_amounts,
        "disease": extra.disease,
        # 中途结算: a stage of a long stay; dscg_time is then the end of the stage (ADR 0018)
        "mid_settlement": data.mid_setl_flag == "1",
    }


def _names(data: Data2304) -> dict[str, str]:
    """The message's field of each value of the JSON API's request built from it (`build`)."""
    extra = "input.data.exp_content"
    parts = "bill.out_of_policy_breakdown"
    return {
        "visit_id": "input.data.mdtrt_id",
        "discharged_at": f"{extra}.dscg_time" if data.exp_content.dscg_time else "inf_time",
        "his_settlement_id": "input.data.medins_setl_id" if data.medins_setl_id else "msgid",
        f"{parts}.full_self_pay": "input.data.fulamt_ownpay_amt",
        f"{parts}.over_limit_self_pay": "input.data.overlmt_selfpay",
        f"{parts}.pre_self_pay": "input.data.preselfpay_amt",
        parts: "input.data.fulamt_ownpay_amt",
        "bill.total": "input.data.medfee_sumamt",
        "bill.in_policy": "input.data.inscp_scp_amt",
        "bill.out_of_policy": "input.data.fulamt_ownpay_amt",
        "bill": "input.data.medfee_sumamt",
        "settlement_mode": f"{extra}.settlement_mode",
        "external_amounts": f"{extra}.external_amounts",
        "disease": f"{extra}.disease",
        "mid_settlement": "input.data.mid_setl_flag",
    }


def _defaulted(data: Data2304) -> dict[str, str]:
    """A problem with the discharge names `inf_time` when that is where it came from: not
    `exp_content.dscg_time`, which the caller never sent."""
    return {} if data.exp_content.dscg_time else {"discharged_at": "inf_time"}


def _person(call: Call, data: Data2304) -> tuple[str | None, dict[str, str]]:
    """The keyed hash of the person the message's credential names (the visit's person must be
    the same: service._same_person), and the credential's field for a problem naming it. A
    message without an ID card credential names nobody, and the visit id alone decides."""
    named = named_resident_id(data, "data")
    if named is None:
        return None, {}
    raw, field = named
    _, resident = identify(call.admissions.hasher, raw, field=field)
    return resident.person_key, {"person": field}


def _output(
    call: Call,
    settled: SettlementPublic,
    *,
    psn_no: str | None,
    medins_setl_id: str | None,
    replayed: bool | None = None,
    negate: bool = False,
) -> dict[str, Any]:
    mapping = call.mapping(settled.insured_county)
    return {
        "setlinfo": setlinfo(
            settled, mapping=mapping, psn_no=psn_no, medins_setl_id=medins_setl_id, negate=negate
        ),
        "setldetail": setldetail(settled, mapping=mapping, negate=negate),
        "settlecheck": extension(settled, replayed=replayed),
    }


async def pre_settle(call: Call) -> dict[str, Any]:
    data = parse(Input2304, call).data
    body = build(SettlementPreviewCreate, "input.data", names=_names(data), **_request(call, data))
    person_key, named = _person(call, data)
    with fields_named(_defaulted(data) | named):
        previewed = await call.desk.preview(call.uow, body, person_key=person_key)
    return _output(call, previewed, psn_no=data.psn_no, medins_setl_id=None)


async def _first_discharge(call: Call, data: Data2304, key: str) -> datetime | None:
    """The discharge the first message of this settlement was settled with, when the message
    sends none: a resend whose `inf_time` moved (a HIS that stamps each send) is then the same
    request and replays, as it did when the default was a fixed time of the day."""
    if data.exp_content.dscg_time is not None:
        return None
    earlier = await call.uow.settlements.list_for_visit(
        visit_id=data.mdtrt_id, hospital_code=call.hospital_code, principal=call.principal, limit=50
    )
    for settlement, _ in earlier:
        if settlement.his_settlement_id == key:
            return settlement.discharged_at.astimezone(CHINA_TZ)  # stored as aware UTC
    return None


async def settle(call: Call) -> dict[str, Any]:
    data = parse(Input2304, call).data
    key = data.medins_setl_id or call.envelope.msgid
    request = _request(call, data)
    request["discharged_at"] = await _first_discharge(call, data, key) or request["discharged_at"]
    body = build(
        SettlementCreate,
        "input.data",
        names=_names(data),
        **request,
        his_settlement_id=key,
    )
    person_key, named = _person(call, data)
    with fields_named(_defaulted(data) | named):
        outcome = await call.desk.settle(call.uow, body, person_key=person_key)
    _refuse_reversed(outcome.entry, field=_names(data)["his_settlement_id"])
    return _output(
        call,
        outcome.entry,
        psn_no=data.psn_no,
        medins_setl_id=key,
        replayed=outcome.replayed,
    )


def _refuse_reversed(settled: SettlementPublic, *, field: str) -> None:
    """A replay of a settlement reversed since: the platform's setlinfo cannot say "reversed"
    and infcode 0 means "settled" to a HIS, so refuse it, naming the reversal (ADR 0030). Only
    a replay can be reversed: a settlement made now is not."""
    reversal = settled.reversal
    if settled.status != "reversed" or reversal is None:
        return
    when = platform_time(reversal.created_at)
    raise SettlementReversed(
        f"settlement {settled.id} ({settled.his_settlement_id}) of visit {settled.visit_id} "
        f"was reversed at {when} (reversal {reversal.id}); it no longer stands. Send a new "
        "medins_setl_id to settle the visit again",
        field=field,
    )


@contextmanager
def _naming_setl_id() -> Iterator[None]:
    """A refusal of the settlement itself (not found, a later stage still settled, reversed
    already) names no field: the JSON API has the settlement in its path; 2305 in setl_id."""
    try:
        yield
    except ServiceError as exc:
        if exc.status < 500 and not exc.errors:
            named = FieldProblem(field="input.data.setl_id", message=exc.detail, code=exc.code)
            exc.errors = [named]
        raise


async def cancel(call: Call) -> dict[str, Any]:
    """The compensating record, amounts negated, as the platform answers a 冲销."""
    data = parse(Input2305, call).data
    settlement_id = row_id(data.setl_id)
    if settlement_id is None:
        raise SettlementNotFound(
            f"no settlement {data.setl_id} at your hospital", field="input.data.setl_id"
        )
    with _naming_setl_id():
        settled = await settlements.get(
            call.uow, principal=call.principal, settlement_id=settlement_id
        )
    if settled.visit_id != data.mdtrt_id:
        raise SettlementNotFound(
            f"settlement {settlement_id} is not of visit {data.mdtrt_id}",
            field="input.data.mdtrt_id",
        )
    with _naming_setl_id():
        outcome = await settlements.reverse(
            call.uow,
            hospital_code=call.hospital_code,
            settlement_id=settlement_id,
            body=ReversalCreate(reason=REVERSAL_REASON, his_reversal_id=f"2305:{settlement_id}"),
            actor=call.actor,
        )
    return _output(
        call,
        outcome.entry,
        psn_no=data.psn_no,
        medins_setl_id=outcome.entry.his_settlement_id,
        replayed=outcome.replayed,
        negate=True,
    )
