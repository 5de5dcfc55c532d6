"""The stored answer of a settlement: everything the API returns about it except what only
exists once it is stored (id, status, HIS id, created_at, reversal). It is stored with the row,
so a replay returns the same body byte for byte."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from service.money import fen_to_yuan, yuan_to_fen
from service.policy import SettlementResult
from service.policy.model import LayerResult
from service.settlements.capitals import capital_amount
from service.settlements.context import Context
from service.settlements.findings import Booking

NATIONAL_FUNDS = {
    "basic_insurance": "hifp_pay",
    "critical_illness": "hifmi_pay",
    "medical_aid": "maf_pay",
    "supplementary": "hifes_pay",
    "fee_waiver": "hosp_part_amt",
    "hospital": "hosp_part_amt",
}
"""Which national settlement field each fund type's payment is reported in; any other fund
type (the safety net 兜底, a charity fund, ...) is `oth_pay` (docs/nhsa.md, ADR 0015)."""

FUND_FIELDS = ("hifp_pay", "hifmi_pay", "maf_pay", "hifes_pay", "hosp_part_amt", "oth_pay")

_ZERO = fen_to_yuan(0)


class Yuan(dict[int, str]):
    """The amounts of one answer as yuan strings, each rendered once: `yuan[fen]`. An answer
    shows ~40 amounts and few distinct ones (zero in most national fields and a skipped
    layer, the patient's share three times, a layer's amount again in its fund's field)."""

    def __init__(self) -> None:
        super().__init__({0: _ZERO})

    def __missing__(self, fen: int) -> str:
        text = self[fen] = fen_to_yuan(fen)
        return text


def fund_fields(
    paid_by_fund_type: Iterable[tuple[str, int]], patient_fen: int, yuan: Yuan | None = None
) -> dict[str, str]:
    """What each layer paid under the national settlement field names (医保结算字段), and the
    patient's share as cash: this service settles no personal account (个人账户), so
    `acct_pay` is always zero and `psn_cash_pay` is the whole personal share. `yuan`: the
    amounts the answer has rendered so far."""
    y = Yuan() if yuan is None else yuan
    paid = dict.fromkeys(FUND_FIELDS, 0)
    for fund_type, fen in paid_by_fund_type:
        paid[NATIONAL_FUNDS.get(fund_type, "oth_pay")] += fen
    patient = y[patient_fen]
    return {
        "fund_pay_sumamt": y[sum(paid.values())],
        **{name: y[fen] for name, fen in paid.items()},
        "psn_part_amt": patient,
        "acct_pay": _ZERO,
        "psn_cash_pay": patient,
    }


def stored_fund_fields(result: Mapping[str, Any]) -> dict[str, str]:
    """`fund_fields` recomputed from a stored answer's layers, so settlements stored before a
    field existed (or when supplementary cover was still booked as `oth_pay`) read the same
    as new ones."""
    return fund_fields(stored_layer_amounts(result), stored_patient_fen(result))


def stored_layer_amounts(result: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(fund_type, fen) of every layer of a stored answer: what each fund paid. Clearing
    (service/clearing/lines.py) reads a settlement's per-fund amounts through this too."""
    return [
        (layer["fund_type"], yuan_to_fen(Decimal(layer["amount"]))) for layer in result["layers"]
    ]


def stored_patient_fen(result: Mapping[str, Any]) -> int:
    return yuan_to_fen(Decimal(result["totals"]["patient_pays"]))


def stored_result(result: Mapping[str, Any]) -> SettlementResult:
    """A stored answer as the engine's result again: the layers and totals as settled (the
    year-end top-up reads the patient's shares from it, service/yearend). Findings, trace and
    deltas are not part of the answer's money and come back empty."""

    def fen(value: str | None) -> int:
        return 0 if value is None else yuan_to_fen(Decimal(value))

    totals = result["totals"]
    policy = result.get("policy", {})
    return SettlementResult(
        layers=tuple(
            LayerResult(
                code=layer["code"],
                fund_type=layer["fund_type"],
                name=layer["name"],
                applied=bool(layer.get("applied", True)),
                base_fen=fen(layer.get("base")),
                deductible_fen=fen(layer.get("deductible_used")),
                ratio=str(layer.get("ratio", "")),
                amount_fen=fen(layer["amount"]),
                cap_left_fen=None if layer.get("cap_left") is None else fen(layer["cap_left"]),
            )
            for layer in result["layers"]
        ),
        total_fen=fen(totals["total"]),
        waived_fen=fen(totals.get("waived", "0")),
        funds_total_fen=fen(totals["fund_total"]),
        patient_pays_fen=fen(totals["patient_pays"]),
        patient_in_policy_fen=fen(totals["patient_in_policy"]),
        patient_out_of_policy_fen=fen(totals["patient_out_of_policy"]),
        actual_ratio=Decimal(totals["actual_ratio"]),
        out_of_policy_share=Decimal(totals["out_of_policy_share"]),
        findings=(),
        deltas={},
        trace=(),
        policy_hash=policy.get("content_hash", ""),
        policy_version=policy.get("version", ""),
    )


def national_fields(ctx: Context, result: SettlementResult, yuan: Yuan) -> dict[str, str]:
    """The totals under the national settlement field names (医保结算字段)."""
    funds = sum(layer.amount_fen for layer in result.layers)
    if funds + result.patient_pays_fen != result.total_fen:
        raise AssertionError(f"layers {funds} + patient {result.patient_pays_fen} != bill")
    parts = ctx.out_of_policy
    paid = ((layer.fund_type, layer.amount_fen) for layer in result.layers)
    return {
        "medfee_sumamt": yuan[result.total_fen],
        **fund_fields(paid, result.patient_pays_fen, yuan),
        "fulamt_ownpay_amt": yuan[parts.full_self_pay_fen],
        "overlmt_selfpay": yuan[parts.over_limit_fen],
        "preselfpay_amt": yuan[parts.pre_self_pay_fen],
        "inscp_scp_amt": yuan[ctx.bill.in_policy_fen],
    }


def render(ctx: Context, result: SettlementResult, found: list[Booking]) -> dict[str, Any]:
    """The stored answer: JSON-ready, amounts as two-place strings."""
    policy = ctx.policy
    y = Yuan()
    return {
        "hospital_code": ctx.hospital_code,
        "visit_id": ctx.visit_id,
        "settlement_mode": ctx.mode,
        "person_masked": ctx.person_masked,
        "insured_county": ctx.insured_county,
        "admitted_at": ctx.admitted_at.isoformat(),
        "discharged_at": ctx.discharged_at.isoformat(),
        "year": ctx.scope.year,
        "layers": [
            {
                "code": r.code,
                "fund_type": r.fund_type,
                "name": r.name,
                "applied": r.applied,
                "base": y[r.base_fen],
                "deductible_used": y[r.deductible_fen],
                "ratio": r.ratio,
                "amount": y[r.amount_fen],
                "cap_left": None if r.cap_left_fen is None else y[r.cap_left_fen],
            }
            for r in result.layers
        ],
        "totals": {
            "total": y[result.total_fen],
            "waived": y[result.waived_fen],
            "fund_total": y[result.funds_total_fen],
            "patient_pays": y[result.patient_pays_fen],
            "patient_pays_in_capitals": capital_amount(result.patient_pays_fen),
            "patient_in_policy": y[result.patient_in_policy_fen],
            "patient_out_of_policy": y[result.patient_out_of_policy_fen],
            "actual_ratio": str(result.actual_ratio),
            "out_of_policy_share": str(result.out_of_policy_share),
        },
        **national_fields(ctx, result, y),
        "findings": [
            {
                "rule": f.rule,
                "violated": f.violated,
                "measured": f.measured,
                "limit": f.limit,
                "points": str(f.points),
                "detail": f.detail,
            }
            for f in result.findings
        ],
        "violation_findings": [b.rule_code for b in found],
        "violations_booked": [b.rule_code for b in found],
        "policy": {
            "region_code": policy.region_code,
            "name": policy.name,
            "version": policy.version,
            "content_hash": policy.content_hash,
        },
        "trace": [{"step": t.step, "zh": t.zh, "en": t.en} for t in result.trace],
    }
