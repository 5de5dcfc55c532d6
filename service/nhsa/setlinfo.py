"""A settlement (or a preview) as the platform's `setlinfo` and `setldetail` nodes.

Every amount is read from the settlement service's answer (SettlementPublic): this module
renames and groups, it computes no money. Amounts are two-place decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from service.nhsa.envelope import platform_time
from service.nhsa.mapping import Mapping
from service.settlements.schemas import LayerPublic, SettlementPublic

PROC_INFO_LIMIT = 4000  # 结算过程信息, 字符型 4000
FROM_ANSWER = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "hifp_pay",
    "hifes_pay",
    "hifmi_pay",
    "maf_pay",
    "hosp_part_amt",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
)
NEVER_SETTLED = ("cvlserv_pay", "hifob_pay", "acct_mulaid_pay")  # employees' and account funds
BASIC = "basic_insurance"
WAIVER = "fee_waiver"


def _amount(value: str | Decimal, negate: bool) -> str:
    amount = Decimal(value)
    return f"{-amount if negate and amount else amount:.2f}"


def _sum(values: Iterable[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def setlinfo(
    settled: SettlementPublic,
    *,
    mapping: Mapping,
    psn_no: str | None,
    medins_setl_id: str | None,
    negate: bool = False,
) -> dict[str, Any]:
    basic = [layer for layer in settled.layers if layer.fund_type == BASIC and layer.applied]
    answer = settled.model_dump()
    when = settled.reversal.created_at if negate and settled.reversal else settled.created_at
    return {
        "mdtrt_id": settled.visit_id,
        # A reversal answers the setl_id it reversed (its own id is in settlecheck.reversal):
        # our reversal ids are another series, and a later 2305 must never name one.
        "setl_id": None if settled.id is None else str(settled.id),
        "psn_no": psn_no,
        "psn_name": None,
        "psn_cert_type": "01",
        "certno": settled.person_masked,
        "insutype": mapping.insutype,
        "setl_time": platform_time(when) if when else None,
        **{name: _amount(answer[name], negate) for name in FROM_ANSWER},
        **{name: _amount("0", negate) for name in NEVER_SETTLED},
        "act_pay_dedc": _amount(_sum(layer.deductible_used for layer in basic), negate),
        "pool_prop_selfpay": basic[0].ratio if basic else None,
        "balc": None,
        "medins_setl_id": medins_setl_id,
        "clr_optins": None,
        "clr_way": None,
        "clr_type": None,
    }


def setldetail(
    settled: SettlementPublic, *, mapping: Mapping, negate: bool = False
) -> list[dict[str, Any]]:
    """One row per fund (layers of one fund code are added up); fee waivers are no fund."""
    funds: dict[str | None, list[LayerPublic]] = {}
    for layer in settled.layers:
        if layer.applied and layer.fund_type != WAIVER:
            funds.setdefault(mapping.fund(layer.fund_type).code, []).append(layer)
    proc = {t.step: t.zh for t in settled.trace}
    rows = []
    for code, layers in funds.items():
        caps = [layer.cap_left for layer in layers]
        limit = (
            None
            if any(c is None for c in caps)
            else _sum([*(c for c in caps if c is not None), *(x.amount for x in layers)])
        )
        rows.append(
            {
                "fund_pay_type": code,
                "fund_pay_type_name": mapping.fund(layers[0].fund_type).name or layers[0].name,
                "inscp_scp_amt": _amount(_sum(x.base for x in layers), negate),
                # A limit, not money moved: a reversal does not negate it.
                "crt_payb_lmt_amt": None if limit is None else _amount(limit, False),
                "fund_payamt": _amount(_sum(x.amount for x in layers), negate),
                "setl_proc_info": "；".join(proc[x.code] for x in layers if x.code in proc)[
                    :PROC_INFO_LIMIT
                ],
            }
        )
    return rows


def extension(settled: SettlementPublic, *, replayed: bool | None = None) -> dict[str, Any]:
    """Our answer beside the platform's nodes: ratio, findings, bookings, policy, trace."""
    body = settled.model_dump(mode="json")
    keys = (
        "id",
        "status",
        "his_settlement_id",
        "totals",
        "findings",
        "violation_findings",
        "violations_booked",
    )
    return {
        **{key: body[key] for key in keys},
        "policy": body["policy"],
        "reversal": body["reversal"],
        "replayed": replayed,
    }
