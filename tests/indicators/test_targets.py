"""The targets an indicator is measured against come from the policy in force, never from code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from service.errors import NotFound
from service.indicators.targets import targets_for
from service.policy import CompiledPolicy, load_policies

ON = date(2025, 3, 1)
POLICY = """\
region: "990300"
name: 只定住院目标
version: "t1"
effective_from: 2025-01-01
categories: {registered_poor: 建档立卡贫困人口}
controls: {covered_categories: [registered_poor], target_ratio: {inpatient: "0.85"}}
layers:
  - {code: basic_insurance, kind: ratio, fund_type: basic_insurance, name: 基本医保, ratio: "0.70"}
"""


class OneCatalog:
    def __init__(self, policy: CompiledPolicy | None) -> None:
        self.policy = policy
        self.asked: list[str] = []

    async def for_region(self, session: Any, *, insured_region: str, on: date) -> CompiledPolicy:
        self.asked.append(insured_region)
        if self.policy is None:
            raise NotFound("no policy in force")
        return self.policy


async def test_a_visit_type_the_policy_sets_no_target_for_has_none() -> None:
    (policy,) = load_policies({"p.yaml": POLICY})
    catalog = OneCatalog(policy)
    targets = await targets_for(None, catalog, region="9903", on=ON)
    assert catalog.asked == ["990300"]
    # The policy's own 85%, and no made-up 80% for chronic outpatients.
    assert targets == {"inpatient": Decimal("0.85")}


async def test_no_policy_in_force_means_no_targets() -> None:
    catalog = OneCatalog(None)
    assert await targets_for(None, catalog, region="990300", on=ON) == {}
    assert catalog.asked == ["990300"]
    assert await targets_for(None, catalog, region=None, on=ON) == {}
    assert catalog.asked == ["990300"]  # a whole-country view asks no policy
