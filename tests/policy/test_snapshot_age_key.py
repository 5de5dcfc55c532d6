"""`controls.pay_after_treatment.snapshot_max_age_days` (ADR 0011, addendum): optional, absent
means no limit, and a document that does not state it keeps the hash it had before the key."""

from __future__ import annotations

import pytest

from service.policy import snapshot_max_age_days
from service.policy_versions.errors import InvalidPolicy
from service.policy_versions.service import compile_all
from service.policy_versions.shipped import shipped_policy_texts

# The shipped versions' hashes before the key existed (commit 6fa6134): stored versions and
# every settlement's policy_hash name them, so they must not move.
SHIPPED_HASHES = {
    "340000": "95c2e364be2878e71cf38c821be6cb132f75dd70dcf0be08cf42210b698fd926",
    "500112": "e1fcb2736f905581938dd6ad675af3e2c3c9c7f9f3776ac184b43eca3d184912",
    "990000": "219c82f92a2d449aa33fff916203e434dec9e12aa19e762d5332aeefda855f55",
    "990102": "6df5d588273351dfea4a55cc39c1417a39805b09ec90085a4948d2769fed95f7",
    "990200": "85be3f45622d3525ef5f916914101bc7375a7dfdc720cd8cd6992f9f70e689f9",
    "450000": "503aea5b50746eca2dc79c3e2b76afd27d529ed426fa5d71b0128445a189c085",
    "420000": "618ea342f662c92673b926da87656eb82df52d72409cc9d13ad7bf42f66d3eff",
    "320281": "32a854229fa89ffbe1f87f157d326d209b431795e826d2e5265d512f3a303e7e",
    "511800": "05cc7f079a25cc1e848f53a50b95bcfac532792cc495b1c6848befb6d82419fd",
}
COUNTY = "demo_990102_county.yaml"


def _county(extra: str) -> dict[str, str]:
    """The shipped set with the demo county's text extended by `extra`."""
    texts = shipped_policy_texts()
    return {**texts, COUNTY: texts[COUNTY] + extra}


def test_the_shipped_versions_keep_their_hashes() -> None:
    compiled = {p.region_code: p for p in compile_all(shipped_policy_texts())}
    assert {code: p.content_hash for code, p in compiled.items()} == SHIPPED_HASHES
    assert all(snapshot_max_age_days(p) is None for p in compiled.values())


def test_a_stated_limit_is_read_and_counts_in_the_hash() -> None:
    texts = _county("  pay_after_treatment:\n    snapshot_max_age_days: 30\n")
    county = next(p for p in compile_all(texts) if p.region_code == "990102")
    assert snapshot_max_age_days(county) == 30
    assert county.content_hash != SHIPPED_HASHES["990102"]


def test_a_county_inherits_its_provinces_limit() -> None:
    province = "demo_990000_province.yaml"
    texts = shipped_policy_texts()
    stated = texts[province].replace(
        "    deposit_from_defaulters: true\n",
        "    deposit_from_defaulters: true\n    snapshot_max_age_days: 90\n",
    )
    assert stated != texts[province]
    compiled = {p.region_code: p for p in compile_all({**texts, province: stated})}
    assert snapshot_max_age_days(compiled["990102"]) == 90


@pytest.mark.parametrize("days", ["-1", "3651", "1.5", "true"])
def test_a_limit_outside_whole_days_of_ten_years_is_refused(days: str) -> None:
    texts = _county(f"  pay_after_treatment:\n    snapshot_max_age_days: {days}\n")
    with pytest.raises(InvalidPolicy) as refused:
        compile_all(texts)
    [problem] = refused.value.errors or []
    assert problem.field == "controls.pay_after_treatment.snapshot_max_age_days"
