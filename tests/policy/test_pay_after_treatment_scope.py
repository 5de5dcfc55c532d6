"""Where pay-after-treatment applies (`within`): the county (县域内, the usual rule), the pooling
region (统筹区内), the province, or anywhere. A county states it over a parent that still says
`in_county_only`, and `within` wins; documents without it keep their old meaning."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.policy import CompiledPolicy, load_policies, pay_after_treatment, select_policy
from service.policy.model import Visit
from tests.policy.helpers import DATA, visit

POOR = frozenset({"registered_poor"})
ON = date(2026, 3, 1)


def _county_saying(within: str | None) -> str:
    said = f"within: {within}" if within else "in_county_only: false"
    return f"""
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 先诊疗后付费范围
version: "within-{within or "anywhere-old"}"
effective_from: 2026-01-01
sources: ["test: where pay-after-treatment applies"]
controls:
  pay_after_treatment:
    {said}
    referral_required_outside_county: false
"""


def _policy(within: str | None) -> CompiledPolicy:
    texts = {
        "province.yaml": (DATA / "demo_990000_province.yaml").read_text(encoding="utf-8"),
        "county.yaml": _county_saying(within),
    }
    policy = select_policy(load_policies(texts), insured_region="990102", on=ON)
    assert policy is not None
    assert policy.version.startswith("within-")
    return policy


def _at(location: str, in_pooling_region: bool | None = None) -> Visit:
    return replace(visit(location=location, on=ON), in_pooling_region=in_pooling_region)


CASES = [
    # (within, visit, eligible, the blocker)
    ("county", _at("in_county"), True, None),
    ("county", _at("out_of_county", True), False, "OUT_OF_COUNTY"),
    ("pooling_region", _at("out_of_county", True), True, None),
    ("pooling_region", _at("out_of_county", False), False, "OUT_OF_POOLING_REGION"),
    ("pooling_region", _at("out_of_province"), False, "OUT_OF_POOLING_REGION"),
    ("province", _at("out_of_county", False), True, None),
    ("province", _at("out_of_province"), False, "OUT_OF_PROVINCE"),
    ("anywhere", _at("out_of_province"), True, None),
    (None, _at("out_of_province"), True, None),  # in_county_only: false, as before `within`
]


@pytest.mark.parametrize(("within", "where", "eligible", "blocker"), CASES)
def test_pay_after_treatment_applies_where_the_policy_says(
    within: str | None, where: Visit, eligible: bool, blocker: str | None
) -> None:
    result = pay_after_treatment(_policy(within), visit=where, categories=POOR)
    assert result.eligible is eligible
    assert result.deposit_allowed_fen == (0 if eligible else None)
    if blocker is None:
        assert result.reasons == ("ELIGIBLE_CATEGORY:registered_poor",)
    else:
        assert result.reasons == (blocker, "ELIGIBLE_CATEGORY:registered_poor")


def test_within_wins_over_the_parents_in_county_only() -> None:
    policy = _policy("pooling_region")
    rule = policy.controls.pay_after_treatment
    assert rule is not None
    assert rule.in_county_only is True  # the province's words, merged in
    assert rule.scope == "pooling_region"
