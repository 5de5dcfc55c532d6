"""The patient a resource names by resident ID number: a Claim's `patient`, a Task's `for`."""

from __future__ import annotations

from collections.abc import Sequence

from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from service.fhir import systems


def resident_id_named(party: Reference | None, contained: Sequence[Resource] | None) -> str | None:
    """The resident ID number `party` names the patient by, if it does: its identifier of our
    resident-id system, or that identifier of the contained Patient it refers to (`#id`)."""
    if party is None:
        return None
    identifiers = [party.identifier] if party.identifier is not None else []
    reference = party.reference or ""
    if reference.startswith("#"):
        for resource in contained or []:
            if resource.get_resource_type() == "Patient" and resource.id == reference[1:]:
                identifiers.extend(getattr(resource, "identifier", None) or [])
    for identifier in identifiers:
        if identifier.system == systems.RESIDENT_ID and identifier.value:
            return str(identifier.value)
    return None
