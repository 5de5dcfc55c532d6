"""Every worked example in ../shared/domain/examples through the HTTP API, to the fen, with the
region's shipped policy and an admission in that region."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.factories import at, bill, settle

KeyFor = Callable[[str], Awaitable[dict[str, str]]]


def layer(result: dict[str, Any], code: str) -> str:
    amounts = {item["code"]: item["amount"] for item in result["layers"]}
    return amounts[code]


async def test_e1_yubei_low_income_edge(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor
) -> None:
    headers = await key_for("H500112001")
    visit = await factories.make_admission(
        session,
        hospital_code="H500112001",
        county_code="500112",
        insured_county="500112",
        categories=["low_income_edge"],
        admitted_at=at(2023, 10, 20),
    )
    result = await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": "E1",
            "discharged_at": "2023-10-30T09:00:00+08:00",
            "bill": bill("50000.00", "2000.00"),
        },
    )
    assert layer(result, "basic_insurance") == "34790.00"
    assert layer(result, "critical_illness") == "0.00"
    assert layer(result, "medical_aid") == "10647.00"
    assert layer(result, "tilted_aid") == "937.80"
    assert result["totals"]["fund_total"] == "46374.80"
    assert result["totals"]["patient_pays"] == "5625.20"
    assert result["totals"]["patient_in_policy"] == "3625.20"
    assert result["totals"]["actual_ratio"] == "0.8918"
    assert result["totals"]["patient_pays_in_capitals"] == "伍仟陆佰贰拾伍元贰角整"
    assert (result["hifp_pay"], result["hifmi_pay"], result["maf_pay"]) == (
        "34790.00",
        "0.00",
        "11584.80",
    )
    assert (result["medfee_sumamt"], result["fund_pay_sumamt"], result["psn_part_amt"]) == (
        "52000.00",
        "46374.80",
        "5625.20",
    )
    assert result["fulamt_ownpay_amt"] == "2000.00"
    assert result["violations_booked"] == ["BELOW_TARGET_RATIO"]
    assert result["policy"]["version"] == "2023-yubei-qa"
    assert len(result["policy"]["content_hash"]) == 64
    assert any("34790.00" in line["en"] for line in result["trace"])


async def test_d2_yaan_supplementary(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor
) -> None:
    headers = await key_for("H511802001")
    visit = await factories.make_admission(
        session,
        hospital_code="H511802001",
        county_code="511802",
        insured_county="511802",
        admitted_at=at(2018, 4, 20),
    )
    result = await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": "D2",
            "discharged_at": "2018-05-01T09:00:00+08:00",
            "bill": bill("9000.00", "1000.00"),
        },
    )
    assert layer(result, "basic_insurance") == "7480.00"
    assert layer(result, "critical_illness") == "0.00"
    assert layer(result, "medical_aid") == "924.00"
    assert layer(result, "supplementary") == "1346.00"
    assert result["totals"]["patient_pays"] == "250.00"
    assert result["totals"]["patient_out_of_policy"] == "50.00"
    # Supplementary cover is 补充医疗保险 (hifes_pay), no longer lumped into 其他支出.
    assert (result["hifes_pay"], result["oth_pay"]) == ("1346.00", "0.00")
    assert result["psn_cash_pay"] == result["psn_part_amt"] == "250.00"
    assert result["acct_pay"] == "0.00"


async def _hubei(
    client: httpx.AsyncClient, session: AsyncSession, headers: dict[str, str], eligible: str, n: int
) -> str:
    visit = await factories.make_admission(
        session,
        hospital_code="H420102001",
        county_code="420102",
        insured_county="420102",
        resident=factories.resident_id(region="420102"),
        admitted_at=at(2018, 6, n),
    )
    result = await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": f"D1-{n}",
            "discharged_at": f"2018-06-{n + 5:02d}T09:00:00+08:00",
            "bill": bill(eligible),
            "external_amounts": {"basic_insurance": "0.00"},
        },
    )
    return layer(result, "critical_illness")


@pytest.mark.parametrize(
    ("eligible", "expected"), [("50000.00", "29000.00"), ("150000.00", "104000.00")]
)
async def test_d1_hubei_cumulative_bands(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, eligible: str, expected: str
) -> None:
    headers = await key_for("H420102001")
    assert await _hubei(client, session, headers, eligible, 1) == expected


async def test_d1_second_admission_continues_on_the_bands(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor
) -> None:
    headers = await key_for("H420102001")
    first = await _hubei(client, session, headers, "20000.00", 1)
    second = await _hubei(client, session, headers, "30000.00", 10)
    assert (first, second) == ("9000.00", "20000.00")


async def _anhui(
    client: httpx.AsyncClient,
    session: AsyncSession,
    headers: dict[str, str],
    hospital: str,
    burden: str,
    n: int,
    location: str = "in_county",
) -> dict[str, Any]:
    visit = await factories.make_admission(
        session,
        hospital_code=hospital,
        county_code="340102",
        insured_county="340102",
        resident=factories.resident_id(region="340102"),
        location=location,
        referred=location != "in_county",
        admitted_at=at(2018, 6, n),
    )
    return await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": f"D5-{n}",
            "discharged_at": f"2018-06-{n + 3:02d}T09:00:00+08:00",
            "bill": bill(burden),
            "external_amounts": {
                "basic_insurance": "0",
                "critical_illness": "0",
                "medical_aid": "0",
            },
        },
    )


@pytest.mark.parametrize(
    ("hospital", "location", "safety_net", "patient"),
    [
        ("H340102001", "in_county", "5200.00", "3000.00"),
        ("H340100001", "out_of_county", "3200.00", "5000.00"),
        ("H340000001", "out_of_county", "0.00", "8200.00"),
    ],
)
async def test_d5_anhui_351_by_hospital_tier(
    client: httpx.AsyncClient,
    session: AsyncSession,
    key_for: KeyFor,
    hospital: str,
    location: str,
    safety_net: str,
    patient: str,
) -> None:
    headers = await key_for(hospital)
    result = await _anhui(client, session, headers, hospital, "8200.00", 1, location)
    assert layer(result, "safety_net") == safety_net
    assert result["totals"]["patient_pays"] == patient


async def test_d5_second_admission_after_the_cap_costs_nothing(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor
) -> None:
    headers = await key_for("H340102001")
    first = await _anhui(client, session, headers, "H340102001", "3000.00", 1)
    second = await _anhui(client, session, headers, "H340102001", "1500.00", 10)
    assert first["totals"]["patient_pays"] == "3000.00"
    assert layer(second, "safety_net") == "1500.00"
    assert second["totals"]["patient_pays"] == "0.00"
    assert second["totals"]["patient_pays_in_capitals"] == "零元整"


async def test_e3_jiangyin_medical_aid(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor
) -> None:
    headers = await key_for("H320281001")
    visit = await factories.make_admission(
        session,
        hospital_code="H320281001",
        county_code="320281",
        insured_county="320281",
        categories=["medical_aid_recipient"],
        admitted_at=at(2020, 7, 20),
    )
    result = await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": "E3",
            "discharged_at": "2020-08-01T09:00:00+08:00",
            "bill": bill("135000.00", "15000.00"),
            "external_amounts": {"basic_insurance": "68828.00", "critical_illness": "37161.80"},
        },
    )
    assert layer(result, "medical_aid") == "20307.14"
    assert result["totals"]["fund_total"] == "126296.94"
    assert result["totals"]["patient_pays"] == "23703.06"
    assert result["totals"]["patient_pays_in_capitals"] == "贰万叁仟柒佰零叁元零陆分"
    assert (result["hifp_pay"], result["hifmi_pay"], result["maf_pay"]) == (
        "68828.00",
        "37161.80",
        "20307.14",
    )


async def test_e5_general_population_cumulative_bands(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor
) -> None:
    headers = await key_for("H990201001")
    visit = await factories.make_admission(
        session,
        hospital_code="H990201001",
        county_code="990201",
        insured_county="990201",
        categories=[],
        admitted_at=at(2024, 2, 20),
    )
    result = await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": "E5",
            "discharged_at": "2024-03-04T09:00:00+08:00",
            "bill": bill("150000.00"),
            "external_amounts": {"basic_insurance": "0.00"},
        },
    )
    assert layer(result, "critical_illness") == "93800.00"
    assert result["hifmi_pay"] == "93800.00"
    assert result["violations_booked"] == []
