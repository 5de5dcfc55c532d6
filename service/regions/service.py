from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from service.errors import NotFound
from service.regions.models import Hospital


class HospitalNotFound(NotFound):
    code = "hospital_not_found"


async def get_hospital(session: AsyncSession, code: str) -> Hospital:
    hospital = await session.get(Hospital, code)
    if hospital is None:
        raise HospitalNotFound(f"hospital {code} is not registered", field="hospital_code")
    return hospital


def location_of(*, hospital_county: str, insured_county: str) -> str:
    """in_county / out_of_county / out_of_province, from the hospital and the insured county."""
    if hospital_county == insured_county:
        return "in_county"
    if hospital_county[:2] == insured_county[:2]:
        return "out_of_county"
    return "out_of_province"
