"""3201 对总账: the HIS's totals of some days against ours, as clearing counts them.

Ours are the calling hospital's settlements by the fund statements' rule (service/clearing/days.py):
a settlement on its day, its reversal negated on the reversal's day. `fund_pay_sumamt` is what
2304 answered (every layer, the hospital's waivers included), `acct_pay` is 0.00 (no personal
account is settled), and `fixmedins_setl_cnt` is settlements less reversals. Nothing is stored.
"""

from __future__ import annotations

from typing import Any

from service.clearing.days import hospital_totals
from service.clearing.lines import HospitalTotals
from service.money import fen_to_yuan, yuan_to_fen
from service.nhsa.call import Call, parse
from service.nhsa.errors import UnsupportedValue
from service.nhsa.inputs import Data3201, Input3201
from service.regions.models import region_chain

BALANCED, UNBALANCED = "0", "1"  # 对账结果: 平 / 不平
NAMES = {
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支付",
    "fixmedins_setl_cnt": "结算笔数",
}


async def reconcile_totals(call: Call) -> dict[str, Any]:
    data = parse(Input3201, call).data
    county = (await call.hospitals.get(call.session, call.hospital_code)).county_code
    _check_scope(call, data, county)
    totals = await hospital_totals(
        call.uow,
        hospital_code=call.hospital_code,
        first=data.stmt_begndate,
        last=data.stmt_enddate,
        field="input.data.stmt_enddate",
    )
    ours = _ours(totals)
    theirs = _theirs(data)
    differing = [name for name in NAMES if ours[name] != theirs[name]]
    return {
        "stmtinfo": {
            "setl_optins": data.setl_optins,
            "stmt_rslt": UNBALANCED if differing else BALANCED,
            "stmt_rslt_dscr": _description(ours, theirs, differing),
        },
        "settlecheck": {
            "stmt_begndate": data.stmt_begndate.isoformat(),
            "stmt_enddate": data.stmt_enddate.isoformat(),
            **ours,
            "settlements": totals.settlements,
            "reversals": totals.reversals,
            "differing": differing,
        },
    }


def _check_scope(call: Call, data: Data3201, county: str) -> None:
    """One insurance type is settled here, and cleared where the hospital is."""
    insutype = call.mapping(county).insutype
    if data.insutype != insutype:
        raise UnsupportedValue(
            f"insutype {data.insutype} is not settled here: only {insutype} "
            "(城乡居民基本医疗保险) is, so there are no totals of it to compare",
            field="input.data.insutype",
        )
    agencies = region_chain(county)
    if data.setl_optins not in agencies:
        raise UnsupportedValue(
            f"setl_optins {data.setl_optins} is not the clearing agency of your hospital: "
            f"send the code of its county, prefecture or province ({', '.join(agencies)})",
            field="input.data.setl_optins",
        )


def _ours(totals: HospitalTotals) -> dict[str, Any]:
    return {
        "medfee_sumamt": fen_to_yuan(totals.medfee_fen),
        "fund_pay_sumamt": fen_to_yuan(totals.fund_pay_fen),
        "acct_pay": fen_to_yuan(0),
        "fixmedins_setl_cnt": totals.count,
    }


def _theirs(data: Data3201) -> dict[str, Any]:
    """The message's figures in the same form as ours (yuan through fen: `1` is `1.00`)."""
    return {
        "medfee_sumamt": fen_to_yuan(yuan_to_fen(data.medfee_sumamt)),
        "fund_pay_sumamt": fen_to_yuan(yuan_to_fen(data.fund_pay_sumamt)),
        "acct_pay": fen_to_yuan(yuan_to_fen(data.acct_pay)),
        "fixmedins_setl_cnt": data.fixmedins_setl_cnt,
    }


def _description(ours: dict[str, Any], theirs: dict[str, Any], differing: list[str]) -> str:
    if not differing:
        return "对账平：" + "，".join(f"{NAMES[name]} {ours[name]}" for name in NAMES)
    return "；".join(
        f"{NAMES[name]}不符：本方 {ours[name]}，对方 {theirs[name]}" for name in differing
    )
