"""Pick the policy in force for a patient's insured region on a date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from service.policy.compiled import CompiledPolicy

__all__ = ["in_same_pooling_region", "region_chain", "select_policy"]


def region_chain(region: str) -> tuple[str, ...]:
    """County, prefecture, province codes for a 6-digit division code (duplicates dropped)."""
    chain = (region, region[:4] + "00", region[:2] + "0000")
    return tuple(dict.fromkeys(chain))


def in_same_pooling_region(hospital_county: str, insured_county: str, *, pooled_at: str) -> bool:
    """Is the hospital inside the patient's pooling region (统筹区)? ``pooled_at`` is
    ``county``, ``prefecture`` (the usual 市级统筹) or ``province`` (省级统筹)."""
    digits = {"county": 6, "prefecture": 4, "province": 2}[pooled_at]
    return hospital_county[:digits] == insured_county[:digits]


def select_policy(
    candidates: Sequence[CompiledPolicy], *, insured_region: str, on: date
) -> CompiledPolicy | None:
    """The most specific region's version in force on ``on`` (county, prefecture, province)."""
    for code in region_chain(insured_region):
        in_force = [p for p in candidates if p.region_code == code and p.in_force_on(on)]
        if in_force:
            return max(in_force, key=lambda p: p.effective_from)
    return None
