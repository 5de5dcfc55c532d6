"""What-if of a parent's (province's) proposal over counties with versions of their own: each
stay is re-settled under what would be in force for its pool were the proposal adopted — the
county's own version layered over the proposal where the county has one, the proposal itself
elsewhere — and so are the year-end entries.

The demo county (990102) has its own 2025 version here: a lower township deductible, medical
aid at 80% (the province pays 60% to a medical-aid recipient) and a year-end top-up the
province does not have. The neighbouring county (990103) has none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.policy_versions.shipped import shipped_policy_texts
from tests import factories
from tests.factories import KeyFactory, at, bill, settle

KeyFor = Callable[[str], Awaitable[dict[str, str]]]
PROVINCE = shipped_policy_texts()["demo_990000_province.yaml"]
COUNTY_2025 = """
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 2025 测算
version: "whatif-county-2025"
effective_from: 2025-01-01
effective_to: null
sources: ["test"]
layers:
  - code: basic_insurance
    deductible_by_level: {primary: "50.00"}
  - code: medical_aid
    ratio: "0.80"
year_end:
  - code: year_end_top_up
    name: 年度政策范围内个人自付超1%部分补足
    fund_type: medical_aid
    applies_to:
      categories: [medical_aid_recipient]
      locations: [in_county]
    counts: in_policy
    self_pay_share_cap: "0.01"
"""
# (hospital, county, person, month, in-catalogue yuan)
STAYS = (
    ("H990102001", "990102", 1, 3, "60000.00"),
    ("H990102001", "990102", 1, 6, "60000.00"),
    ("H990103001", "990103", 2, 4, "9000.00"),
)


async def _year(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, admin: dict[str, str]
) -> None:
    loaded = await client.post(
        "/v1/policies", json={"source_text": COUNTY_2025, "reason": "what-if test"}, headers=admin
    )
    assert loaded.status_code == 201, loaded.text
    for n, (hospital, county, seq, month, inside) in enumerate(STAYS):
        visit = await factories.make_admission(
            session,
            hospital_code=hospital,
            county_code=county,
            insured_county=county,
            resident=factories.resident_id(region=county, seq=seq),
            categories=["medical_aid_recipient"],
            admitted_at=at(2025, month, 1),
        )
        await settle(
            client,
            await key_for(hospital),
            {
                "visit_id": visit.visit_id,
                "his_settlement_id": f"WR-{n}",
                "discharged_at": f"2025-{month:02d}-20T09:00:00+08:00",
                "bill": bill(inside),
            },
        )


async def _what_if(client: httpx.AsyncClient, headers: dict[str, str], text: str) -> Any:
    answer = await client.post(
        "/v1/policies/whatif", json={"source_text": text, "over": 2025}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _funds(report: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {f["fund_type"]: (f["now"], f["proposed"], f["difference"]) for f in report["funds"]}


def _year_end(report: dict[str, Any]) -> list[tuple[str, int, int, str, str, str]]:
    return [
        (
            e["code"],
            e["persons_now"],
            e["persons_proposed"],
            e["now"],
            e["proposed"],
            e["difference"],
        )
        for e in report["year_end"]
    ]


async def test_the_province_against_itself_costs_nothing_over_counties_with_their_own_versions(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    admin = await make_key("admin")
    await _year(client, session, key_for, admin)
    report = await _what_if(client, admin, PROVINCE)
    assert report["settlements"] == 3
    # Person 1 (990102, township hospital, the county's version): basic (60000 - 50) x 0.90 =
    # 53955 a stay; critical illness (6045 x 2 - 10000) x 0.60 = 1254 on the second; medical
    # aid at the county's 80%: 4836 and (6045 - 1254) x 0.80 = 3832.80; the year's in-catalogue
    # self-pay 1209 + 958.20 = 2167.20 less 1% of 120000 is the county's top-up, 967.20.
    # Person 2 (990103, the province's): basic (9000 - 300) x 0.80 = 6960, aid 2040 x 0.60.
    assert _funds(report) == {
        "basic_insurance": ("114870.00", "114870.00", "0.00"),
        "critical_illness": ("1254.00", "1254.00", "0.00"),
        "medical_aid": ("10860.00", "10860.00", "0.00"),
    }
    assert _year_end(report) == [("year_end_top_up", 1, 1, "967.20", "967.20", "0.00")]
    assert report["funds_difference"] == "0.00"
    assert report["patient_now"] == report["patient_proposed"] == "2016.00"
    assert report["patients_rising"] == []
    for line in report["ratios"]:
        assert line["now"] == line["proposed"], line
        assert line["below_target_now"] == line["below_target_proposed"], line


async def test_a_province_number_a_county_overrides_changes_only_the_counties_without_one(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    admin = await make_key("admin")
    await _year(client, session, key_for, admin)
    aid_at = 'ratio: "{}"\n    annual_cap: "50000.00"'
    assert PROVINCE.count(aid_at.format("0.60")) == 1
    proposal = PROVINCE.replace(aid_at.format("0.60"), aid_at.format("0.50"))
    report = await _what_if(client, admin, proposal)
    # Medical aid at 50% reaches the neighbouring county only: 2040 x 0.50 = 1020 (-204); the
    # demo county pays its own 80%, and its top-up is unchanged.
    assert _funds(report) == {
        "basic_insurance": ("114870.00", "114870.00", "0.00"),
        "critical_illness": ("1254.00", "1254.00", "0.00"),
        "medical_aid": ("10860.00", "10656.00", "-204.00"),
    }
    assert _year_end(report) == [("year_end_top_up", 1, 1, "967.20", "967.20", "0.00")]
    assert (report["patient_now"], report["patient_proposed"]) == ("2016.00", "2220.00")
    assert [(p["person_masked"][:6], p["rise"]) for p in report["patients_rising"]] == [
        ("990103", "204.00")
    ]


async def test_next_years_province_proposal_is_costed_over_the_counties_versions_too(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    admin = await make_key("admin")
    await _year(client, session, key_for, admin)
    # Loaded, it would close the province's 2024 version at the end of 2025; the counties'
    # versions from 2024 and 2025 are layered over it from 2026.
    proposal = PROVINCE.replace("effective_from: 2024-01-01", "effective_from: 2026-01-01")
    assert proposal != PROVINCE
    report = await _what_if(client, admin, proposal)
    assert _funds(report) == {
        "basic_insurance": ("114870.00", "114870.00", "0.00"),
        "critical_illness": ("1254.00", "1254.00", "0.00"),
        "medical_aid": ("10860.00", "10860.00", "0.00"),
    }
    assert _year_end(report) == [("year_end_top_up", 1, 1, "967.20", "967.20", "0.00")]
