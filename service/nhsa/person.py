"""1101 人员信息获取: the person's categories as identity rows, and our eligibility answer."""

from __future__ import annotations

from typing import Any

from service.base import utcnow
from service.china_time import local_date
from service.identity import identify
from service.nhsa.call import Call, parse, resident_id
from service.nhsa.inputs import Input1101
from service.nhsa.mapping import Mapping
from service.persons.status import PersonStatusPublic, person_status

PSN_NO_LENGTH = 30  # 人员编号: our keyed hash of the ID number, cut to the platform's length


async def person_info(call: Call) -> dict[str, Any]:
    data = parse(Input1101, call).data
    id_number = resident_id(data, "data")
    # The day asked about is held to the window of the JSON API's `on` (ADR 0012): a year
    # 2099 is not a day anyone's status can be judged on, so the registry is not asked.
    on = (
        call.admissions.window.day(local_date(data.begntime), field="input.data.begntime")
        if data.begntime is not None
        else local_date(utcnow())
    )
    status = await person_status(
        call.session,
        ctx=call.admissions,
        principal=call.principal,
        id_number=id_number,
        on=on,
    )
    _, resident = identify(call.admissions.hasher, id_number)
    mapping = call.mapping(status.insured_county)
    return {
        "baseinfo": {
            "psn_no": resident.person_key[:PSN_NO_LENGTH],
            "psn_cert_type": "01",
            "certno": status.person_masked,
            "psn_name": None,
            "gend": None,
            "naty": None,
            "brdy": None,
            "age": None,
        },
        "insuinfo": _insurance(status, mapping),
        "idetinfo": _identities(status, mapping),
        "settlecheck": _eligibility(status),
    }


def _insurance(status: PersonStatusPublic, mapping: Mapping) -> list[dict[str, Any]]:
    if status.insured_county is None:
        return []
    return [
        {
            "insutype": mapping.insutype,
            "insuplc_admdvs": status.insured_county,
            "psn_type": None,
            "psn_insu_stas": None,
            "balc": None,
        }
    ]


def _identities(status: PersonStatusPublic, mapping: Mapping) -> list[dict[str, Any]]:
    rows = []
    for category in status.categories:
        code = mapping.identity(category.code)
        name = category.name or code.name or ""
        rows.append(
            {
                "psn_idet_type": code.code,
                "psn_type_lv": None,
                "memo": f"{category.code} {name}".strip(),
                "begntime": f"{category.valid_from.isoformat()} 00:00:00",
                "endtime": f"{category.valid_to.isoformat()} 23:59:59"
                if category.valid_to
                else None,
            }
        )
    return rows


def _eligibility(status: PersonStatusPublic) -> dict[str, Any]:
    """Our answer beside the platform's nodes: where it came from and as of when."""
    source = status.source.model_dump(mode="json")
    return {
        "on": status.on.isoformat(),
        "registered": status.registered,
        "covered": status.covered,
        "deceased": status.deceased,
        "pay_after_treatment": status.pay_after_treatment.model_dump(mode="json"),
        "warnings": [w.model_dump(mode="json") for w in status.warnings],
        "source": source["kind"],
        "as_of": source["answered_at"],
        "source_detail": source,
        "policy": status.policy.model_dump(mode="json") if status.policy else None,
    }
