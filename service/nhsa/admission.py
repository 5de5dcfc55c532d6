"""2401 入院办理 and 2404 入院办理撤销, over the admission service."""

from __future__ import annotations

from typing import Any

from service.admissions.errors import AdmissionNotFound
from service.admissions.lifecycle import reverse_admission
from service.admissions.responses import admission_detail
from service.admissions.schemas import AdmissionCreate
from service.admissions.service import admit
from service.errors import FieldProblem
from service.nhsa.call import Call, build, parse, resident_id, resident_id_field
from service.nhsa.envelope import platform_time
from service.nhsa.errors import InvalidInput, UnsupportedValue
from service.nhsa.inputs import Input2401, Input2404

NO_NAME = "-"  # the platform's 2401 carries no patient name; exp_content.psn_name may
DECISION = (
    "covered",
    "registered",
    "categories",
    "pay_after_treatment",
    "deposit_intended",
    "deposit_allowed",
    "warnings",
    "source",
    "violations",
    "policy",
    "location",
)


async def admit_visit(call: Call) -> dict[str, Any]:
    info = parse(Input2401, call).mdtrtinfo
    insured = call.envelope.insuplc_admdvs
    if insured is None:
        raise InvalidInput(
            "2401 needs insuplc_admdvs (参保地医保区划): the insured place decides the policy",
            field="insuplc_admdvs",
        )
    visit_type = call.mapping(insured).med_types.get(info.med_type)
    if visit_type is None:
        raise UnsupportedValue(
            f"med_type {info.med_type} is not settled here (21 住院, 14 门诊慢特病)",
            field="input.mdtrtinfo.med_type",
        )
    extra = info.exp_content
    node = "input.mdtrtinfo"
    body = build(
        AdmissionCreate,
        node,
        names={
            "visit_id": f"{node}.ipt_no",
            "id_number": resident_id_field(info, "mdtrtinfo"),
            "name": f"{node}.exp_content.psn_name",
            "admitted_at": f"{node}.begntime",
            "visit_type": f"{node}.med_type",
            "insured_county": "insuplc_admdvs",
            "referral.referred": f"{node}.exp_content.referred",
            "referral.referral_no": f"{node}.exp_content.referral_no",
            "referral": f"{node}.exp_content",
            "deposit_intended": f"{node}.exp_content.deposit_intended",
        },
        visit_id=info.ipt_no,
        id_number=resident_id(info, "mdtrtinfo"),
        name=extra.psn_name or NO_NAME,
        admitted_at=info.begntime,
        visit_type=visit_type,
        insured_county=insured,
        referral={"referred": extra.referred, "referral_no": extra.referral_no},
        deposit_intended=extra.deposit_intended,
    )
    recorded = await admit(
        call.uow,
        ctx=call.admissions,
        hospital_code=call.hospital_code,
        actor=call.actor,
        body=body,
    )
    answer = recorded.entry
    return {
        "result": {"mdtrt_id": answer["visit_id"]},
        "settlecheck": {
            "replayed": recorded.replayed,
            **{key: answer[key] for key in DECISION},
        },
    }


async def cancel_visit(call: Call) -> dict[str, Any]:
    data = parse(Input2404, call).data
    try:
        recorded = await reverse_admission(
            call.uow,
            hospital_code=call.hospital_code,
            actor=call.actor,
            visit_id=data.mdtrt_id,
            reason=f"2404 入院办理撤销 (msgid {call.envelope.msgid})",
        )
    except AdmissionNotFound as exc:
        # the service names no field (the JSON API has the visit in the path)
        if not exc.errors:
            named = FieldProblem(field="input.data.mdtrt_id", message=exc.detail, code=exc.code)
            exc.errors = [named]
        raise
    detail = admission_detail(recorded.entry)
    return {
        "result": {
            "mdtrt_id": detail.visit_id,
            "state": detail.state,
            "reversed_at": platform_time(detail.reversed_at) if detail.reversed_at else None,
        },
        "settlecheck": {"replayed": recorded.replayed},
    }
