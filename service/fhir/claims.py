"""Claim → the settlement service's request; a settlement (or preview) → ClaimResponse.

Amounts are read from the settlement service's answer: this module renames and groups, it
computes no money. The whole bill is adjudicated as the Claim's first item, one adjudication
per fund beside the standard categories; the trace is the process notes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from pydantic import TypeAdapter, ValidationError

from service.base import utcnow
from service.china_time import CHINA_TZ, local_date
from service.errors import FieldProblem
from service.fhir import systems
from service.fhir.errors import InvalidResource, UnsupportedContent
from service.fhir.patients import resident_id_named
from service.identity import IdHasher, identify
from service.money import Amount
from service.settlements.schemas import SettlementPublic

PARTS = {
    "in-policy": "in_policy",
    "full-self-pay": "full_self_pay",
    "over-limit-self-pay": "over_limit_self_pay",
    "pre-self-pay": "pre_self_pay",
}
USES = ("claim", "predetermination")
FIELDS = {
    "visit_id": "Claim.item[0].encounter[0].identifier",
    "his_settlement_id": "Claim.identifier[0]",
    "discharged_at": "Claim.billablePeriod.end",
    "bill": "Claim.item",
    "external_amounts": "Claim",
    "disease": "Claim.diagnosis",
    "person": "Claim.patient.identifier",
}


def claim_key(claim: Claim) -> str | None:
    """The HIS settlement id: the Claim's first identifier (the idempotency key)."""
    if not claim.identifier or not claim.identifier[0].value:
        return None
    return str(claim.identifier[0].value)


def patient_resident_id(claim: Claim) -> str | None:
    """The resident ID number the Claim names its patient by, if it does (`patient`, or the
    contained Patient it refers to). The visit id picks the stay; a patient named here must be
    the visit's."""
    return resident_id_named(claim.patient, claim.contained)


def patient_key(claim: Claim, hasher: IdHasher) -> str | None:
    """The keyed hash of the patient the Claim names (patient_resident_id), if it names one."""
    named = patient_resident_id(claim)
    if named is None:
        return None
    return identify(hasher, named, field=FIELDS["person"])[1].person_key


def _visit_id(claim: Claim) -> str:
    visit: str | None = None
    for index, item in enumerate(claim.item or []):
        for encounter in item.encounter or []:
            found = encounter.identifier
            if found is None or found.system != systems.VISIT or not found.value:
                continue
            if visit is None:
                visit = str(found.value)
            elif str(found.value) != visit:
                # One Claim is one bill of one stay: settling it on the first visit would
                # charge the other stay's items to it.
                raise UnsupportedContent(
                    f"every item must name the same visit ({visit}); settle each stay "
                    "with its own Claim",
                    field=f"Claim.item[{index}].encounter",
                )
    if visit is None:
        raise UnsupportedContent(
            f"name the visit in item.encounter.identifier with system {systems.VISIT}",
            field="Claim.item[0].encounter[0].identifier",
        )
    return visit


def _discharged_at(claim: Claim) -> datetime:
    end = claim.billablePeriod.end if claim.billablePeriod else None
    if end is None:
        raise UnsupportedContent(
            "billablePeriod.end (the discharge) is required", field="Claim.billablePeriod.end"
        )
    if isinstance(end, datetime):
        return end if end.tzinfo else end.replace(tzinfo=CHINA_TZ)
    if isinstance(end, date):
        # A date only: the policy reads the date. The Claim's `created` when it is on that day:
        # 23:59:59 had not come yet on the day of discharge, and was refused as in the future
        # (ADR 0015). Either is fixed by the Claim, so a retry stays the same request.
        created = claim.created
        if isinstance(created, datetime):
            created = created if created.tzinfo else created.replace(tzinfo=CHINA_TZ)
            if local_date(created) == end:
                return created
        return datetime.combine(end, time(23, 59, 59), tzinfo=CHINA_TZ)
    raise UnsupportedContent("billablePeriod.end is not a date", field="Claim.billablePeriod.end")


_NET = TypeAdapter[Decimal](Amount)


def _net(value: Any, where: str) -> Decimal:
    """An item's net as the JSON API reads an amount (two decimals, not negative, plausible):
    lines of 1.005 and 0.005, or of 20500.00 and -500.00, would otherwise add up to a part the
    JSON API and NHSA accept, and be settled on lines that neither would."""
    try:
        return _NET.validate_python(value)
    except ValidationError as exc:
        errors = [
            FieldProblem(field=f"{where}.net.value", message=e["msg"], code=e["type"])
            for e in exc.errors(include_input=False)
        ]
        raise InvalidResource(
            f"{where}.net.value is not an amount: {errors[0].message}", errors=errors
        ) from None


def _bill(claim: Claim) -> dict[str, Any]:
    parts = dict.fromkeys(PARTS.values(), Decimal(0))
    for index, item in enumerate(claim.item or []):
        where = f"Claim.item[{index}]"
        codes = [c for c in item.productOrService.coding or [] if c.system == systems.BILL_PART]
        if len(codes) != 1 or codes[0].code not in PARTS:
            raise UnsupportedContent(
                f"productOrService needs one coding of {systems.BILL_PART}: " + ", ".join(PARTS),
                field=f"{where}.productOrService",
            )
        net = item.net
        if net is None or net.value is None or (net.currency or systems.CURRENCY) != "CNY":
            raise UnsupportedContent("net is required, in CNY", field=f"{where}.net")
        parts[PARTS[str(codes[0].code)]] += _net(net.value, where)
    outside = parts["full_self_pay"] + parts["over_limit_self_pay"] + parts["pre_self_pay"]
    total = parts["in_policy"] + outside
    if claim.total is not None and claim.total.value is not None:
        if Decimal(claim.total.value) != total:
            raise UnsupportedContent(
                f"total {claim.total.value} is not the sum of the items {total}",
                field="Claim.total",
            )
    return {
        "total": total,
        "in_policy": parts["in_policy"],
        "out_of_policy": outside,
        "out_of_policy_breakdown": {k: parts[k] for k in list(PARTS.values())[1:]},
    }


def settlement_request(claim: Claim) -> dict[str, Any]:
    """The JSON API's request for the bill this Claim describes (SettlementPreviewCreate names)."""
    if claim.use not in USES:
        raise UnsupportedContent(
            f"use {claim.use} is not offered: claim (结算) or predetermination (预结算)",
            field="Claim.use",
        )
    return {
        "visit_id": _visit_id(claim),
        "discharged_at": _discharged_at(claim),
        "bill": _bill(claim),
        "disease": _disease(claim),
    }


def _disease(claim: Claim) -> str | None:
    """The designated disease (病种): a diagnosis coded in our disease system, at most one."""
    codes = [
        str(coding.code)
        for diagnosis in claim.diagnosis or []
        if diagnosis.diagnosisCodeableConcept is not None
        for coding in diagnosis.diagnosisCodeableConcept.coding or []
        if coding.system == systems.DISEASE and coding.code
    ]
    if len(codes) > 1:
        raise UnsupportedContent(
            f"at most one diagnosis coded in {systems.DISEASE} (the designated disease)",
            field="Claim.diagnosis",
        )
    return codes[0] if codes else None


def _money(value: str) -> dict[str, Any]:
    return {"value": Decimal(value), "currency": systems.CURRENCY}


def _category(code: str, system: str = systems.ADJUDICATION) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _adjudication(settled: SettlementPublic) -> list[dict[str, Any]]:
    deductible = sum(
        (Decimal(x.deductible_used) for x in settled.layers if x.fund_type == "basic_insurance"),
        Decimal(0),
    )
    standard = [
        {"category": _category("submitted"), "amount": _money(settled.medfee_sumamt)},
        {"category": _category("eligible"), "amount": _money(settled.inscp_scp_amt)},
        {"category": _category("deductible"), "amount": _money(f"{deductible:.2f}")},
        {"category": _category("benefit"), "amount": _money(settled.fund_pay_sumamt)},
        {"category": _category("copay"), "amount": _money(settled.psn_part_amt)},
    ]
    funds: dict[str, Decimal] = {}
    for layer in settled.layers:
        if layer.applied:
            funds[layer.fund_type] = funds.get(layer.fund_type, Decimal(0)) + Decimal(layer.amount)
    by_fund = [
        {"category": _category(fund, systems.FUND), "amount": _money(f"{amount:.2f}")}
        for fund, amount in funds.items()
    ]
    return standard + by_fund


def _notes(settled: SettlementPublic) -> list[dict[str, Any]]:
    return [
        {"number": n, "type": "display", "text": f"{line.zh} / {line.en}"}
        for n, line in enumerate(settled.trace, start=1)
    ]


INSTITUTIONAL = {"coding": [{"system": systems.CLAIM_TYPE, "code": "institutional"}]}


def claim_response(settled: SettlementPublic, *, claim: Claim | None = None) -> ClaimResponse:
    """The settlement as a ClaimResponse; `claim` (when answering one) gives its type and use."""
    created = settled.created_at or utcnow()
    policy = settled.policy
    body: dict[str, Any] = {
        "status": "cancelled" if settled.status == "reversed" else "active",
        "type": claim.type.model_dump(mode="json", exclude_none=True) if claim else INSTITUTIONAL,
        "use": claim.use if claim else "claim",
        "patient": {"display": settled.person_masked},
        "created": created.astimezone(UTC).isoformat(),
        "insurer": {"display": f"{policy.name} {policy.version}"},
        "requestor": {"identifier": {"system": systems.HOSPITAL, "value": settled.hospital_code}},
        "outcome": "complete",
        "disposition": f"{settled.status}: patient pays {settled.psn_part_amt} CNY",
        "item": [{"itemSequence": 1, "adjudication": _adjudication(settled)}],
        "total": [
            {"category": _category("submitted"), "amount": _money(settled.medfee_sumamt)},
            {"category": _category("benefit"), "amount": _money(settled.fund_pay_sumamt)},
            {"category": _category("copay"), "amount": _money(settled.psn_part_amt)},
        ],
        "processNote": _notes(settled),
        "extension": [
            {"url": systems.EXT_ACTUAL_RATIO, "valueDecimal": Decimal(settled.totals.actual_ratio)},
            {
                "url": systems.EXT_POLICY,
                "valueString": f"{policy.region_code} {policy.version} {policy.content_hash}",
            },
        ],
    }
    if settled.id is not None:
        body["id"] = str(settled.id)
        body["identifier"] = [{"system": systems.SETTLEMENT, "value": str(settled.id)}]
    if settled.his_settlement_id is not None:
        body["request"] = {"identifier": {"value": settled.his_settlement_id}}
    return ClaimResponse.model_validate(body)
