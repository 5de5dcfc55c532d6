"""Reading an admission: a hospital reads its own; an auditor, within its region, names the
hospital (visit ids are unique per hospital); an admin reads any."""

from __future__ import annotations

from service.admissions.errors import AdmissionNotFound, HospitalCodeRequired
from service.admissions.models import Admission
from service.auth import Principal, Role
from service.unit_of_work import UnitOfWork


async def visible_admission(
    uow: UnitOfWork, *, principal: Principal, visit_id: str, hospital_code: str | None
) -> Admission:
    """The admission if this caller may see it; otherwise 404, as if it did not exist."""
    if principal.role is Role.HOSPITAL:
        hospital_code = principal.hospital_code
    if hospital_code is None:
        raise HospitalCodeRequired(
            "visit ids are unique per hospital: pass hospital_code", field="hospital_code"
        )
    admission = await uow.admissions.visible(
        principal=principal, hospital_code=hospital_code, visit_id=visit_id
    )
    if admission is None:
        raise AdmissionNotFound(f"no admission {visit_id} at hospital {hospital_code}")
    return admission
