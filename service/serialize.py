"""Responses serialized once.

A route that returns a pydantic model lets FastAPI validate it again against the route's
`response_model` (a full copy) before dumping it. A hot route returns `model_response(model)`
instead: pydantic's Rust serializer writes the bytes once. The route keeps `response_model=`
for the OpenAPI document; the model must BE that response model (or a list of it), which
tests/foundation/test_openapi_examples.py checks by sending every example (ADR 0020).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel


def model_response(
    model: BaseModel,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """`model` dumped by alias as FastAPI would (a FHIR resource: without its empty elements,
    fhir.resources' default)."""
    return Response(
        model.model_dump_json(by_alias=True),
        status_code=status_code,
        headers=headers,
        media_type=media_type,
    )
