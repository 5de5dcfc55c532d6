"""住院起付线 is charged per inpatient stay: a chronic outpatient bill is not charged it."""

from __future__ import annotations

from datetime import date

from service.policy import parse_policy, resolve, settle
from tests.policy.helpers import bill, fen, policy_for, visit

POOR = frozenset({"registered_poor"})


def test_a_chronic_outpatient_bill_is_not_charged_the_inpatient_deductible() -> None:
    demo = policy_for("990102", date(2024, 6, 1))
    outpatient = visit(visit_type="chronic_outpatient", level="secondary")
    result = settle(demo, visit=outpatient, categories=POOR, bill=bill("1000.00"), year={})
    basic = result.layer("basic_insurance")
    assert basic.deductible_fen == 0
    assert basic.amount_fen == fen("800.00")  # 1,000 x 0.80, no 300 taken first


def test_an_inpatient_stay_still_pays_it() -> None:
    demo = policy_for("990102", date(2024, 6, 1))
    result = settle(demo, visit=visit(), categories=POOR, bill=bill("1000.00"), year={})
    assert result.layer("basic_insurance").deductible_fen == fen("300.00")


def test_an_adjustment_for_outpatients_can_set_their_own_deductible() -> None:
    policy = resolve(
        parse_policy(
            """\
region: "990000"
name: test
version: "t1"
effective_from: 2024-01-01
layers:
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 基本医保
    deductible: "300.00"
    ratio: "0.80"
    adjustments:
      - when: {visit_types: [chronic_outpatient]}
        deductible: "100.00"
"""
        ),
        None,
    )
    outpatient = visit(visit_type="chronic_outpatient")
    result = settle(policy, visit=outpatient, categories=POOR, bill=bill("1000.00"), year={})
    assert result.layer("basic_insurance").deductible_fen == fen("100.00")
