"""Each layer kind, deductible mode and adjustment, on small inline policies."""

from __future__ import annotations

import pytest

from service.policy import Bill, BillLine, CompiledPolicy, parse_policy, resolve, settle
from service.policy.errors import EngineInputError, ExternalAmountMissing, ExternalAmountOutOfRange
from tests.policy.helpers import add, bill, fen, visit

HEAD = """\
region: "990000"
name: test
version: "t1"
effective_from: 2024-01-01
categories:
  registered_poor: 建档立卡贫困人口
  destitute: 特困人员
controls:
  covered_categories: [registered_poor, destitute]
  target_ratio: {inpatient: "0.90"}
  personal_share_cap: "0.10"
layers:
"""


def policy(layers: str) -> CompiledPolicy:
    return resolve(parse_policy(HEAD + layers), None)


BASIC = """\
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 基本医保
    deductible_by_level: {primary: "100.00", secondary: "300.00", tertiary: "800.00"}
    ratio_by_level: {primary: "0.90", secondary: "0.80", tertiary: "0.60"}
"""

POOR = frozenset({"registered_poor"})


def test_deductible_and_ratio_follow_the_hospital_level() -> None:
    p = policy(BASIC)
    for level, expected in [
        ("primary", "9000.00"),
        ("secondary", "7840.00"),
        ("tertiary", "5580.00"),
    ]:
        result = settle(
            p, visit=visit(level=level), categories=POOR, bill=bill("10100.00"), year={}
        )
        assert result.layer("basic_insurance").amount_fen == fen(expected)


def test_a_per_admission_deductible_is_charged_at_every_admission() -> None:
    p = policy(BASIC)
    first = settle(p, visit=visit(), categories=POOR, bill=bill("1300.00"), year={})
    second = settle(
        p, visit=visit(), categories=POOR, bill=bill("1300.00"), year=add({}, first.deltas)
    )
    assert first.layer("basic_insurance").deductible_fen == fen("300.00")
    assert second.layer("basic_insurance").deductible_fen == fen("300.00")


def test_a_yearly_deductible_is_paid_once_and_the_difference_at_a_higher_level() -> None:
    p = policy(BASIC + "    deductible_accumulates: per_year\n")
    first = settle(
        p, visit=visit(level="secondary"), categories=POOR, bill=bill("1000.00"), year={}
    )
    year = add({}, first.deltas)
    assert year["basic_insurance.deductible_used"] == fen("300.00")
    again = settle(
        p, visit=visit(level="secondary"), categories=POOR, bill=bill("1000.00"), year=year
    )
    higher = settle(
        p, visit=visit(level="tertiary"), categories=POOR, bill=bill("1000.00"), year=year
    )
    assert again.layer("basic_insurance").deductible_fen == 0
    assert higher.layer("basic_insurance").deductible_fen == fen("500.00")


def test_a_deductible_larger_than_the_bill_leaves_nothing_to_pay() -> None:
    result = settle(policy(BASIC), visit=visit(), categories=POOR, bill=bill("120.00"), year={})
    assert result.layer("basic_insurance").amount_fen == 0
    assert result.patient_pays_fen == fen("120.00")


def test_an_annual_cap_stops_the_layer_for_the_rest_of_the_year() -> None:
    p = policy(BASIC + '    annual_cap: "10000.00"\n')
    first = settle(p, visit=visit(), categories=POOR, bill=bill("10300.00"), year={})
    second = settle(
        p, visit=visit(), categories=POOR, bill=bill("10300.00"), year=add({}, first.deltas)
    )
    assert first.layer("basic_insurance").amount_fen == fen("8000.00")
    assert first.layer("basic_insurance").cap_left_fen == fen("2000.00")
    assert second.layer("basic_insurance").amount_fen == fen("2000.00")
    assert second.layer("basic_insurance").cap_left_fen == 0


def test_unreferred_out_of_county_care_gets_a_lower_ratio() -> None:
    p = policy(
        BASIC
        + "    adjustments:\n"
        + "      - when: {locations: [out_of_county], referred: false}\n"
        + '        ratio_add: "-0.10"\n'
    )
    away = visit(location="out_of_county", referred=False)
    referred = visit(location="out_of_county", referred=True)
    low = settle(p, visit=away, categories=POOR, bill=bill("10300.00"), year={})
    normal = settle(p, visit=referred, categories=POOR, bill=bill("10300.00"), year={})
    assert low.layer("basic_insurance").amount_fen == fen("7000.00")
    assert low.layer("basic_insurance").ratio == "0.70"
    assert normal.layer("basic_insurance").amount_fen == fen("8000.00")


CRITICAL = """\
  - code: critical_illness
    kind: bands
    fund_type: critical_illness
    name: 大病保险
    threshold: "10000.00"
    convention: above_threshold
    bands:
      - {from: "0.00", to: "50000.00", ratio: "0.60"}
      - {from: "50000.00", to: null, ratio: "0.70"}
    adjustments:
      - when: {categories: [registered_poor]}
        threshold_factor: "0.5"
        ratio_add: "0.05"
"""


def test_above_threshold_bands_are_measured_from_the_threshold() -> None:
    p = policy(CRITICAL)
    result = settle(p, visit=visit(), categories=frozenset(), bill=bill("70000.00"), year={})
    # 50,000 x 0.60 + 10,000 x 0.70
    assert result.layer("critical_illness").amount_fen == fen("37000.00")
    assert result.layer("critical_illness").deductible_fen == fen("10000.00")


def test_the_poor_get_half_the_threshold_and_five_points_more() -> None:
    p = policy(CRITICAL)
    result = settle(p, visit=visit(), categories=POOR, bill=bill("70000.00"), year={})
    # threshold 5,000: 50,000 x 0.65 + 15,000 x 0.75
    assert result.layer("critical_illness").amount_fen == fen("43750.00")


def test_the_threshold_is_taken_once_a_year() -> None:
    p = policy(CRITICAL)
    first = settle(p, visit=visit(), categories=frozenset(), bill=bill("8000.00"), year={})
    second = settle(
        p, visit=visit(), categories=frozenset(), bill=bill("8000.00"), year=add({}, first.deltas)
    )
    assert first.layer("critical_illness").amount_fen == 0
    assert second.layer("critical_illness").deductible_fen == fen("2000.00")
    assert second.layer("critical_illness").amount_fen == fen("3600.00")


AID = """\
  - code: medical_aid
    kind: ratio
    fund_type: medical_aid
    name: 医疗救助
    applies_to: {categories: [registered_poor, destitute]}
    ratio: "0.70"
    annual_cap: "5000.00"
    adjustments:
      - when: {categories: [destitute]}
        ratio: "1.00"
"""


def test_medical_aid_applies_only_to_its_categories_and_its_ratio_follows_them() -> None:
    p = policy(AID)
    nobody = settle(p, visit=visit(), categories=frozenset(), bill=bill("1000.00"), year={})
    poor = settle(p, visit=visit(), categories=POOR, bill=bill("1000.00"), year={})
    destitute = settle(
        p, visit=visit(), categories=frozenset({"destitute"}), bill=bill("1000.00"), year={}
    )
    assert not nobody.layer("medical_aid").applied
    assert poor.layer("medical_aid").amount_fen == fen("700.00")
    assert destitute.layer("medical_aid").amount_fen == fen("1000.00")


def test_skipped_layers_pay_nothing_and_say_so() -> None:
    result = settle(
        policy(BASIC + AID),
        visit=visit(),
        categories=POOR,
        bill=bill("1300.00"),
        year={},
        skip_layers=frozenset({"medical_aid"}),
    )
    assert not result.layer("medical_aid").applied
    assert result.patient_pays_fen == fen("500.00")


TOP_UP = """\
  - code: top_up
    kind: top_up
    fund_type: supplementary
    name: 补足至90%
    applies_to: {categories: [registered_poor]}
    target_ratio: "0.90"
    measure: total
    covers: in_policy
"""


def test_the_top_up_brings_the_stay_to_ninety_percent() -> None:
    result = settle(
        policy(BASIC + TOP_UP), visit=visit(), categories=POOR, bill=bill("10300.00"), year={}
    )
    assert result.funds_total_fen == fen("9270.00")
    assert str(result.actual_ratio) == "0.9000"
    assert [(f.rule, f.violated) for f in result.findings] == [
        ("BELOW_TARGET_RATIO", False),
        ("SELF_PAY_OVER_CAP", False),
    ]


def test_the_top_up_cannot_cover_out_of_catalogue_costs_when_told_so() -> None:
    result = settle(
        policy(BASIC + TOP_UP),
        visit=visit(),
        categories=POOR,
        bill=bill("1000.00", "9000.00"),
        year={},
    )
    assert result.patient_in_policy_fen == 0
    assert result.patient_out_of_policy_fen == fen("9000.00")
    [finding] = [f for f in result.findings if f.rule == "BELOW_TARGET_RATIO"]
    assert finding.violated
    assert finding.measured == "0.1000"


SAFETY_NET = """\
  - code: safety_net
    kind: safety_net
    fund_type: safety_net
    name: 兜底
    applies_to: {categories: [registered_poor], locations: [in_county, out_of_county]}
    personal_cap_by_tier: {county: "3000.00", city: "5000.00"}
    counts: {counts}
"""


@pytest.mark.parametrize(("counts", "patient"), [("in_policy", "3000.00"), ("total", "3000.00")])
def test_the_safety_net_switch_decides_whether_out_of_catalogue_costs_count(
    counts: str, patient: str
) -> None:
    p = policy(SAFETY_NET.replace("{counts}", counts))
    result = settle(
        p, visit=visit(tier="county"), categories=POOR, bill=bill("8000.00", "2000.00"), year={}
    )
    if counts == "in_policy":
        assert result.patient_in_policy_fen == fen("3000.00")
        assert result.patient_out_of_policy_fen == fen("2000.00")
        assert result.deltas["safety_net.personal_paid"] == fen("3000.00")
    else:
        assert result.patient_pays_fen == fen(patient)
        assert result.deltas["safety_net.personal_paid"] == fen("3000.00")


def test_the_safety_net_does_not_apply_out_of_province_or_at_an_unlisted_tier() -> None:
    p = policy(SAFETY_NET.replace("{counts}", "total"))
    away = settle(
        p, visit=visit(location="out_of_province"), categories=POOR, bill=bill("8000.00"), year={}
    )
    township = settle(
        p, visit=visit(tier="township"), categories=POOR, bill=bill("8000.00"), year={}
    )
    assert not away.layer("safety_net").applied
    assert not township.layer("safety_net").applied


WAIVER = """\
  - code: two_waived_two_halved
    kind: fee_waiver
    fund_type: fee_waiver
    name: 两免两减半
    applies_to: {categories: [registered_poor]}
    waive: {registration: "1.00", consultation: "1.00", bed: "0.50", large_equipment: "0.50"}
"""


def test_fee_waivers_come_off_the_bill_before_insurance() -> None:
    lines = (
        BillLine("registration", fen("10.00"), True),
        BillLine("consultation", fen("20.00"), True),
        BillLine("bed", fen("401.00"), True),
        BillLine("large_equipment", fen("600.00"), False),
        BillLine("drug", fen("9269.00"), True),
    )
    the_bill = Bill(fen("10300.00"), fen("9700.00"), fen("600.00"), lines)
    result = settle(policy(WAIVER + BASIC), visit=visit(), categories=POOR, bill=the_bill, year={})
    # 10 + 20 + 200.50 in-policy; 300 out-of-policy
    assert result.layer("two_waived_two_halved").amount_fen == fen("530.50")
    assert result.waived_fen == fen("530.50")
    # basic: (9700 - 230.50 - 300) x 0.80
    assert result.layer("basic_insurance").amount_fen == fen("7335.60")
    assert result.waived_fen + result.funds_total_fen + result.patient_pays_fen == fen("10300.00")


def test_a_fee_waiver_after_insurance_is_refused() -> None:
    with pytest.raises(Exception, match="fee waivers come before"):
        policy(BASIC + WAIVER)


EXTERNAL = """\
  - code: basic_insurance
    kind: external
    fund_type: basic_insurance
    name: 医保系统结算
"""


def test_an_external_layer_needs_its_amount() -> None:
    with pytest.raises(ExternalAmountMissing, match="given") as caught:
        settle(policy(EXTERNAL), visit=visit(), categories=POOR, bill=bill("100.00"), year={})
    assert caught.value.layer == "basic_insurance"


def test_an_external_amount_above_its_base_is_refused() -> None:
    with pytest.raises(ExternalAmountOutOfRange, match="outside") as caught:
        settle(
            policy(EXTERNAL),
            visit=visit(),
            categories=POOR,
            bill=bill("100.00"),
            year={},
            given={"basic_insurance": fen("100.01")},
        )
    assert isinstance(caught.value, EngineInputError)
    assert caught.value.layer == "basic_insurance"


def test_two_layers_sharing_a_pool_share_one_annual_limit() -> None:
    inpatient = AID.replace("medical_aid", "aid_inpatient").replace(
        '    ratio: "0.70"\n', '    ratio: "0.70"\n    pool: aid\n', 1
    )
    outpatient = inpatient.replace("aid_inpatient", "aid_outpatient")
    p = policy(inpatient + outpatient)
    result = settle(p, visit=visit(), categories=POOR, bill=bill("10000.00"), year={})
    assert result.layer("aid_inpatient").amount_fen == fen("5000.00")
    assert result.layer("aid_outpatient").amount_fen == 0
    assert result.layer("aid_outpatient").cap_left_fen == 0
    assert result.deltas == {"aid.paid": fen("5000.00")}
