"""The hospital a resource names (Claim.provider, CoverageEligibilityRequest.provider,
Task.requester, Task.owner) must be the key's, as NHSA's `fixmedins_code` must: a HIS
configured with another hospital's code would otherwise settle, check or cancel under the key's
hospital.

Only an identifier of our hospital system, or one without a system, is compared: another
system's code is not ours to read, and a reference or a display resolves to nothing here."""

from __future__ import annotations

from fhir.resources.R4B.reference import Reference

from service.fhir import systems
from service.fhir.errors import WrongInstitution


def refuse_another_hospital(reference: Reference | None, *, hospital_code: str, field: str) -> None:
    identifier = reference.identifier if reference is not None else None
    if identifier is None or not identifier.value:
        return
    if identifier.system not in (None, systems.HOSPITAL):
        return
    if str(identifier.value) != hospital_code:
        raise WrongInstitution(
            f"{field} names hospital {identifier.value}, not {hospital_code}, the hospital of "
            "this API key",
            field=f"{field}.identifier.value",
        )
