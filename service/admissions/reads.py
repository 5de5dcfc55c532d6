"""Reading an admission: a hospital reads its own; an auditor, within its region, names the
hospital (visit ids are unique per hospital); an admin reads any."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.errors import AdmissionNotFound, HospitalCodeRequired
from service.admissions.models import Admission
from service.auth import Principal, Role
from service.auth.visibility import visible_to


async def visible_admission(
    session: AsyncSession, *, principal: Principal, visit_id: str, hospital_code: str | None
) -> Admission:
    """The admission if this caller may see it; otherwise 404, as if it did not exist."""
    if principal.role is Role.HOSPITAL:
        hospital_code = principal.hospital_code
    elif hospital_code is None:
        raise HospitalCodeRequired(
            "visit ids are unique per hospital: pass hospital_code", field="hospital_code"
        )
    seen = visible_to(
        principal,
        hospital_code=col(Admission.hospital_code),
        county_code=col(Admission.county_code),
    )
    query = select(Admission).where(
        col(Admission.hospital_code) == hospital_code, col(Admission.visit_id) == visit_id, *seen
    )
    admission = (await session.exec(query)).first()
    if admission is None:
        raise AdmissionNotFound(f"no admission {visit_id} at hospital {hospital_code}")
    return admission
