from __future__ import annotations

from service.errors import NotFound


class HospitalNotFound(NotFound):
    code = "hospital_not_found"


def location_of(*, hospital_county: str, insured_county: str) -> str:
    """in_county / out_of_county / out_of_province, from the hospital and the insured county."""
    if hospital_county == insured_county:
        return "in_county"
    if hospital_county[:2] == insured_county[:2]:
        return "out_of_county"
    return "out_of_province"
