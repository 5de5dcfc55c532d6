"""The demo county's 5-layer policy, inheritance, policy selection, controls and explain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.policy import (
    Bill,
    BillLine,
    explain,
    pay_after_treatment,
    points_for,
    select_policy,
    settle,
)
from tests.policy.helpers import bill, fen, policy_for, shipped, visit

ON = date(2024, 6, 1)
POOR = frozenset({"registered_poor"})


def test_the_demo_county_inherits_the_province_and_overrides_the_township_deductible() -> None:
    county = policy_for("990102", ON)
    province = policy_for("990000", ON)
    assert county.region_code == "990102"
    assert [p.code for p in county.plan(visit(), POOR)] == [
        "basic_insurance",
        "critical_illness",
        "medical_aid",
        "safety_net",
        "top_up",
    ]
    township = visit(level="primary", tier="township")
    assert county.plan(township, POOR)[0].deductible_fen == fen("50.00")
    assert province.plan(township, POOR)[0].deductible_fen == fen("100.00")
    assert county.plan(visit(level="tertiary"), POOR)[0].deductible_fen == fen("800.00")
    assert county.categories == province.categories
    assert county.content_hash != province.content_hash


def test_a_poor_patient_in_the_demo_county_reaches_ninety_percent() -> None:
    result = settle(
        policy_for("990102", ON),
        visit=visit(level="secondary", tier="county"),
        categories=POOR,
        bill=bill("60000.00", "1000.00"),
        year={},
        trace=True,
    )
    assert [layer.applied for layer in result.layers] == [True] * 5
    assert result.actual_ratio >= Decimal("0.9000")
    assert result.patient_pays_fen <= fen("3000.00") + fen("1000.00")
    assert result.deltas["critical_illness.eligible"] > 0
    assert result.deltas["safety_net.personal_paid"] == result.patient_in_policy_fen
    text = explain(result)
    assert "basic_insurance" in text
    assert "城乡居民基本医疗保险" in text
    assert "actual ratio" in text


def test_the_general_population_gets_only_the_insurance_layers() -> None:
    result = settle(
        policy_for("990102", ON),
        visit=visit(),
        categories=frozenset(),
        bill=bill("60000.00"),
        year={},
    )
    assert [layer.applied for layer in result.layers] == [True, True, False, False, False]
    assert result.findings == ()


def test_selection_prefers_the_county_then_the_prefecture_then_the_province() -> None:
    policies = shipped()
    county = select_policy(policies, insured_region="990102", on=ON)
    prefecture = select_policy(policies, insured_region="990201", on=ON)
    province = select_policy(policies, insured_region="990301", on=ON)
    assert [p.region_code if p else None for p in (county, prefecture, province)] == [
        "990102",
        "990200",
        "990000",
    ]


def test_selection_respects_the_effective_dates() -> None:
    assert select_policy(shipped(), insured_region="990102", on=date(2023, 12, 31)) is None
    assert select_policy(shipped(), insured_region="500112", on=date(2024, 1, 1)) is None
    yubei = select_policy(shipped(), insured_region="500112", on=date(2023, 12, 31))
    assert yubei is not None
    assert yubei.version == "2023-yubei-qa"


def test_every_shipped_policy_names_its_sources() -> None:
    for policy in shipped():
        assert policy.sources, policy.region_code
        assert len(policy.content_hash) == 64


def test_an_eligible_patient_in_the_county_pays_no_deposit() -> None:
    result = pay_after_treatment(policy_for("990102", ON), visit=visit(), categories=POOR)
    assert result.eligible
    assert result.reasons == ("ELIGIBLE_CATEGORY:registered_poor",)
    assert result.deposit_allowed_fen == 0


def test_pay_after_treatment_says_every_reason_it_is_refused() -> None:
    result = pay_after_treatment(
        policy_for("990102", ON),
        visit=visit(location="out_of_county", designated=False, referred=False),
        categories=frozenset({"low_income_edge"}),
    )
    assert not result.eligible
    assert result.reasons == (
        "CATEGORY_NOT_COVERED",
        "OUT_OF_COUNTY",
        "NOT_DESIGNATED",
        "NO_REFERRAL",
    )
    assert result.deposit_allowed_fen is None


def test_points_come_from_the_policy_with_a_default() -> None:
    policy = policy_for("990102", ON)
    assert points_for(policy, "DEPOSIT_CHARGED") == Decimal("0.2")
    assert points_for(policy, "SOMETHING_NEW") == Decimal("0.2")


def test_an_out_of_catalogue_share_over_the_county_limit_is_a_finding() -> None:
    result = settle(
        policy_for("990102", ON),
        visit=visit(level="primary", tier="township"),
        categories=POOR,
        bill=bill("9700.00", "300.00"),
        year={},
    )
    [finding] = [f for f in result.findings if f.rule == "OUT_OF_POLICY_OVER_LIMIT"]
    assert finding.violated
    assert (finding.measured, finding.limit, finding.points) == ("0.0300", "0.02", Decimal("0.2"))


def test_an_empty_bill_settles_to_zero() -> None:
    result = settle(
        policy_for("990102", ON), visit=visit(), categories=POOR, bill=Bill(0, 0, 0), year={}
    )
    assert result.funds_total_fen == 0
    assert result.actual_ratio == Decimal(0)
    assert result.findings == ()


def test_a_bill_whose_parts_do_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="total_fen"):
        Bill(total_fen=100, in_policy_fen=60, out_of_policy_fen=30)


def test_bill_lines_must_add_up_to_the_bill() -> None:
    with pytest.raises(ValueError, match="lines"):
        Bill(100, 100, 0, (BillLine("drug", 90, True),))


def test_a_visit_with_an_unknown_hospital_level_is_refused() -> None:
    with pytest.raises(ValueError, match="hospital_level"):
        visit(level="quaternary")


def test_care_outside_the_county_without_a_referral_is_a_finding() -> None:
    policy = policy_for("990102", ON)
    away = visit(location="out_of_county", referred=False)
    referred = visit(location="out_of_county", referred=True)
    [bad] = [
        f
        for f in settle(policy, visit=away, categories=POOR, bill=bill("1000.00"), year={}).findings
        if f.rule == "IMPROPER_REFERRAL"
    ]
    [good] = [
        f
        for f in settle(
            policy, visit=referred, categories=POOR, bill=bill("1000.00"), year={}
        ).findings
        if f.rule == "IMPROPER_REFERRAL"
    ]
    assert (bad.violated, bad.points) == (True, Decimal("0.2"))
    assert (good.violated, good.points) == (False, Decimal(0))
