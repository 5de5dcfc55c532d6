"""3201 对总账: the HIS's totals of some days against ours, counted as the fund statements count."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.china_time import today
from tests import factories
from tests.factories import Ledger, at
from tests.nhsa.conftest import envelope, failed, ok, send, settlement_input

PROVINCE = "990000"  # the demo province's clearing agency (清算经办机构)


def totals_input(
    first: str = "2026-03-10", last: str | None = None, **figures: Any
) -> dict[str, Any]:
    """3201 input as a HIS sends it: the platform's fields, amounts as strings."""
    data: dict[str, Any] = {
        "insutype": "390",
        "clr_type": "21",
        "setl_optins": PROVINCE,
        "stmt_begndate": first,
        "stmt_enddate": last or first,
        "medfee_sumamt": "0.00",
        "fund_pay_sumamt": "0.00",
        "acct_pay": "0.00",
        "fixmedins_setl_cnt": "0",
        "refd_setl_flag": "",
    }
    data.update(figures)
    return {"data": data}


async def _two_settlements(app: FastAPI) -> Ledger:
    """900.00 + 1300.00 yuan on 2026-03-10 (China time): 1900.00 of it paid by the funds."""
    ledger = Ledger(app)
    await ledger.settle(at(2026, 3, 10), basic=800_00, patient=100_00)
    await ledger.settle(at(2026, 3, 10), basic=1000_00, critical=100_00, patient=200_00)
    return ledger


MATCHING = {
    "medfee_sumamt": "2200.00",
    "fund_pay_sumamt": "1900.00",
    "acct_pay": "0.00",
    "fixmedins_setl_cnt": "2",
}


async def test_equal_totals_balance(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    await _two_settlements(app)
    output = ok(await send(client, hospital_headers, "3201", totals_input(**MATCHING)))
    assert output["stmtinfo"] == {
        "setl_optins": PROVINCE,
        "stmt_rslt": "0",
        "stmt_rslt_dscr": "对账平：医疗费总额 2200.00，基金支付总额 1900.00，个人账户支付 0.00，"
        "结算笔数 2",
    }
    assert output["settlecheck"] == {
        "stmt_begndate": "2026-03-10",
        "stmt_enddate": "2026-03-10",
        "medfee_sumamt": "2200.00",
        "fund_pay_sumamt": "1900.00",
        "acct_pay": "0.00",
        "fixmedins_setl_cnt": 2,
        "settlements": 2,
        "reversals": 0,
        "differing": [],
    }


async def test_numbers_are_accepted_as_the_interface_takes_them(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    await _two_settlements(app)
    figures = {"medfee_sumamt": 2200, "fund_pay_sumamt": 1900.0, "fixmedins_setl_cnt": 2}
    output = ok(await send(client, hospital_headers, "3201", totals_input(**figures)))
    assert output["stmtinfo"]["stmt_rslt"] == "0"


@pytest.mark.parametrize(
    ("field", "theirs", "says"),
    [
        ("medfee_sumamt", "2200.01", "医疗费总额不符：本方 2200.00，对方 2200.01"),
        ("fund_pay_sumamt", "1899.99", "基金支付总额不符：本方 1900.00，对方 1899.99"),
        ("acct_pay", "0.01", "个人账户支付不符：本方 0.00，对方 0.01"),
        ("fixmedins_setl_cnt", "3", "结算笔数不符：本方 2，对方 3"),
    ],
)
async def test_each_figure_off_by_one_is_unbalanced_and_named(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    field: str,
    theirs: str,
    says: str,
) -> None:
    await _two_settlements(app)
    payload = totals_input(**{**MATCHING, field: theirs})
    output = ok(await send(client, hospital_headers, "3201", payload))
    assert output["stmtinfo"]["stmt_rslt"] == "1"
    assert output["stmtinfo"]["stmt_rslt_dscr"] == says
    assert output["settlecheck"]["differing"] == [field]


async def test_every_differing_figure_is_named_in_the_platform_order(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    await _two_settlements(app)
    payload = totals_input(**{**MATCHING, "fixmedins_setl_cnt": 1, "medfee_sumamt": "900.00"})
    output = ok(await send(client, hospital_headers, "3201", payload))
    assert output["stmtinfo"]["stmt_rslt_dscr"] == (
        "医疗费总额不符：本方 2200.00，对方 900.00；结算笔数不符：本方 2，对方 1"
    )


async def test_the_days_are_china_days(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    await ledger.settle(datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC), basic=800_00)  # 23:59:59
    await ledger.settle(datetime(2026, 3, 10, 16, 0, 0, tzinfo=UTC), basic=500_00)  # 03-11 00:00
    first = ok(await send(client, hospital_headers, "3201", totals_input("2026-03-10")))
    second = ok(await send(client, hospital_headers, "3201", totals_input("2026-03-11")))
    assert first["settlecheck"]["medfee_sumamt"] == "900.00"
    assert second["settlecheck"]["medfee_sumamt"] == "600.00"


async def test_a_settlement_reversed_the_same_day_nets_to_zero(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    ledger = await _two_settlements(app)
    third = await ledger.settle(at(2026, 3, 10), basic=400_00, patient=100_00)
    await ledger.reverse(third, at(2026, 3, 10).replace(hour=5))
    output = ok(await send(client, hospital_headers, "3201", totals_input(**MATCHING)))
    assert output["stmtinfo"]["stmt_rslt"] == "0"
    assert (output["settlecheck"]["settlements"], output["settlecheck"]["reversals"]) == (3, 1)


async def test_a_reversal_in_a_later_period_counts_negated_there(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    ledger = Ledger(app)
    settled = await ledger.settle(at(2026, 3, 10), basic=800_00, patient=100_00)
    await ledger.reverse(settled, at(2026, 4, 2))
    march = totals_input("2026-03-01", "2026-03-31", medfee_sumamt="900.00",
                         fund_pay_sumamt="800.00", fixmedins_setl_cnt="1")  # fmt: skip
    april = totals_input("2026-04-01", "2026-04-30", medfee_sumamt="-900.00",
                         fund_pay_sumamt="-800.00", fixmedins_setl_cnt="-1")  # fmt: skip
    both = totals_input("2026-03-01", "2026-04-30")
    for payload in (march, april, both):
        output = ok(await send(client, hospital_headers, "3201", payload))
        assert output["stmtinfo"]["stmt_rslt"] == "0", output["stmtinfo"]["stmt_rslt_dscr"]
    output = ok(await send(client, hospital_headers, "3201", april))
    assert (output["settlecheck"]["settlements"], output["settlecheck"]["reversals"]) == (0, 1)


async def test_another_hospitals_settlements_are_never_counted(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
) -> None:
    ledger = await _two_settlements(app)
    theirs = await ledger.settle(
        at(2026, 3, 10), basic=5000_00, hospital_code=factories.NEIGHBOUR_HOSPITAL
    )
    await ledger.reverse(theirs, at(2026, 3, 11))
    week = {"first": "2026-03-09", "last": "2026-03-15"}
    ours = ok(await send(client, hospital_headers, "3201", totals_input(**week, **MATCHING)))
    assert ours["stmtinfo"]["stmt_rslt"] == "0", ours["stmtinfo"]["stmt_rslt_dscr"]
    neighbour = ok(
        await send(
            client,
            other_hospital_headers,
            "3201",
            totals_input(**week),
            fixmedins_code=factories.NEIGHBOUR_HOSPITAL,
            mdtrtarea_admvs="990103",
        )
    )
    assert neighbour["settlecheck"]["medfee_sumamt"] == "0.00"  # settled and reversed in it
    counted = neighbour["settlecheck"]
    assert (counted["settlements"], counted["reversals"]) == (1, 1)


async def test_the_totals_are_what_2304_and_2305_answered(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """A HIS adds up the setlinfo it was answered; those sums balance."""
    answered = []
    for _ in range(2):
        visit = await factories.make_admission(session)
        settled = ok(await send(client, hospital_headers, "2304", settlement_input(visit.visit_id)))
        answered.append(settled["setlinfo"])
    cancel = {"data": {"mdtrt_id": answered[0]["mdtrt_id"], "setl_id": answered[0]["setl_id"]}}
    answered.append(ok(await send(client, hospital_headers, "2305", cancel))["setlinfo"])

    def total(name: str) -> str:
        return str(sum(Decimal(row[name]) for row in answered))

    day = today().isoformat()
    sums = {name: total(name) for name in ("medfee_sumamt", "fund_pay_sumamt")}
    payload = totals_input(day, **sums, fixmedins_setl_cnt=1)
    output = ok(await send(client, hospital_headers, "3201", payload))
    assert output["stmtinfo"]["stmt_rslt"] == "0", output["stmtinfo"]["stmt_rslt_dscr"]
    assert output["settlecheck"]["medfee_sumamt"] == answered[1]["medfee_sumamt"]


async def test_a_leap_year_is_one_comparison(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    payload = totals_input("2024-01-01", "2024-12-31")
    output = ok(await send(client, hospital_headers, "3201", payload))
    assert output["stmtinfo"]["stmt_rslt"] == "0"


def _days(first: str, last: str) -> dict[str, str]:
    return {"stmt_begndate": first, "stmt_enddate": last}


INVALID, UNSUPPORTED = "nhsa_invalid_input", "nhsa_unsupported_value"


@pytest.mark.parametrize(
    ("figures", "code", "field"),
    [
        (_days("1999-12-31", "2000-01-01"), INVALID, "input.data.stmt_begndate"),
        (_days("2026-03-01", "2100-01-01"), INVALID, "input.data.stmt_enddate"),
        (_days("2026-03-01 00:00:00", "2026-03-01"), INVALID, "input.data.stmt_begndate"),
        (_days("20260301", "2026-03-01"), INVALID, "input.data.stmt_begndate"),
        (_days("2026-02-30", "2026-03-01"), INVALID, "input.data.stmt_begndate"),
        (_days("2026-03-10", "2026-03-09"), "implausible_date", "input.data.stmt_enddate"),
        (_days("2025-03-01", "2026-03-02"), "period_too_long", "input.data.stmt_enddate"),
        ({"medfee_sumamt": "1.001"}, INVALID, "input.data.medfee_sumamt"),
        ({"fund_pay_sumamt": "１００"}, INVALID, "input.data.fund_pay_sumamt"),
        ({"acct_pay": "100000000000.01"}, INVALID, "input.data.acct_pay"),
        ({"fixmedins_setl_cnt": "two"}, INVALID, "input.data.fixmedins_setl_cnt"),
        ({"fixmedins_setl_cnt": "1.5"}, INVALID, "input.data.fixmedins_setl_cnt"),
        ({"fixmedins_setl_cnt": 1.5}, INVALID, "input.data.fixmedins_setl_cnt"),
        # JSON true is not a count of 1 (pydantic alone would read it so)
        ({"fixmedins_setl_cnt": True}, INVALID, "input.data.fixmedins_setl_cnt"),
        ({"fixmedins_setl_cnt": False}, INVALID, "input.data.fixmedins_setl_cnt"),
        ({"refd_setl_flag": "2"}, INVALID, "input.data.refd_setl_flag"),
        ({"setl_optins": None}, INVALID, "input.data.setl_optins"),
        ({"insutype": "310"}, UNSUPPORTED, "input.data.insutype"),  # 职工医保: not settled here
        ({"setl_optins": "340000"}, UNSUPPORTED, "input.data.setl_optins"),  # another province
        ({"setl_optins": "990103"}, UNSUPPORTED, "input.data.setl_optins"),  # the next county
    ],
)
async def test_a_bad_message_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    figures: dict[str, Any],
    code: str,
    field: str,
) -> None:
    """Days out of range, reversed or over 366 days; bad figures; another insurance type or
    clearing agency: a failure envelope, never totals of something else."""
    body = await send(client, hospital_headers, "3201", totals_input(**figures))
    message = failed(body, code)
    assert message.endswith(f"(field: {field})"), message


@pytest.mark.parametrize("agency", ["990102", "990100", "990000"])
async def test_the_county_prefecture_or_province_is_the_clearing_agency(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], agency: str
) -> None:
    output = ok(await send(client, hospital_headers, "3201", totals_input(setl_optins=agency)))
    assert output["stmtinfo"]["setl_optins"] == agency


async def test_another_institution_or_role_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    await _two_settlements(app)
    other = factories.NEIGHBOUR_HOSPITAL
    message = failed(
        await send(client, hospital_headers, "3201", totals_input(), fixmedins_code=other),
        "nhsa_wrong_institution",
    )
    assert message.endswith("(field: fixmedins_code)")
    response = await client.post(
        "/nhsa", json=envelope("3201", totals_input()), headers=auditor_headers
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
