from __future__ import annotations

from service.errors import NotFound
from service.policy import CompiledPolicy, in_same_pooling_region


class HospitalNotFound(NotFound):
    code = "hospital_not_found"


def location_of(*, hospital_county: str, insured_county: str) -> str:
    """in_county / out_of_county / out_of_province, from the hospital and the insured county."""
    if hospital_county == insured_county:
        return "in_county"
    if hospital_county[:2] == insured_county[:2]:
        return "out_of_county"
    return "out_of_province"


def in_pooling_region(
    policy: CompiledPolicy, *, location: str, hospital_county: str, insured_county: str
) -> bool:
    """Is the hospital inside the patient's pooling region (统筹区)? By the policy's `pooling`
    level (default the prefecture, 市级统筹), from the hospital's and the insured county's
    codes; the admission's own location decides the two cases the engine fixes."""
    if location == "in_county":
        return True
    if location == "out_of_province":
        return False
    pooled_at = policy.document.pooling or "prefecture"
    return in_same_pooling_region(hospital_county, insured_county, pooled_at=pooled_at)
