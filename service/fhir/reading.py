"""Reading a resource from the request body with `fhir.resources` (R4B) validation."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from service.fhir.errors import InvalidResource, UnsupportedMediaType
from service.fhir.outcome import invalid
from service.fhir.systems import FHIR_JSON

R = TypeVar("R", bound=Resource)
ACCEPTED = (FHIR_JSON, "application/json")


async def read_resource(request: Request, model: type[R]) -> R:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED:
        raise UnsupportedMediaType(f"send the resource as {FHIR_JSON}, not {media or 'nothing'}")
    name = model.get_resource_type()
    raw = await request.body()
    try:
        resource = model.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid(exc, name) from None
    except ValueError as exc:  # fhir.resources' own checks (resourceType and the like)
        raise InvalidResource(f"not a valid {name}: {exc}", field=name) from None
    if resource.get_resource_type() != name:
        raise InvalidResource(f"expected a {name}", field=f"{name}.resourceType")
    return resource
