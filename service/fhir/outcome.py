"""Every FHIR answer as application/fhir+json, and every problem as an OperationOutcome:
401, 403, 404, 409, 415, 422 (validation too), 429 and 503 alike (docs/fhir.md)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request, Response
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError
from sqlalchemy.exc import DataError

from service.db import is_database_unavailable
from service.errors import (
    DATABASE_UNAVAILABLE,
    FieldProblem,
    ProblemFacts,
    ProblemRoute,
)
from service.fhir.errors import InvalidResource
from service.fhir.systems import FHIR_JSON
from service.idtext import redact
from service.serialize import model_response

log = logging.getLogger("settlecheck.fhir")
PROBLEM_SYSTEM = "urn:settlecheck:problem"
ISSUE_CODES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def resource_response(
    resource: Resource, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return model_response(resource, status_code=status, headers=headers, media_type=FHIR_JSON)


def outcome(facts: ProblemFacts) -> OperationOutcome:
    status = facts.status
    issue: dict[str, Any] = {
        "severity": "error",
        "code": ISSUE_CODES.get(status, "exception" if status >= 500 else "processing"),
        "details": {
            "coding": [{"system": PROBLEM_SYSTEM, "code": facts.code}],
            "text": facts.title,
        },
        # As in every problem answer: no resident ID number is repeated (service/idtext.py).
        "diagnostics": redact(facts.detail),
    }
    expressions = list(dict.fromkeys(redact(e.field) for e in facts.errors))
    if expressions:
        issue["expression"] = expressions
    return OperationOutcome.model_validate({"issue": [issue]})


def outcome_response(facts: ProblemFacts) -> Response:
    return resource_response(outcome(facts), status=facts.status, headers=dict(facts.headers))


def invalid(exc: ValidationError, resource_type: str) -> InvalidResource:
    """A resource `fhir.resources` refused, with a FHIRPath-like expression per field."""
    errors = [
        FieldProblem(
            field=".".join([resource_type, *(str(p) for p in e["loc"])]),
            message=e["msg"],
            code=e["type"],
        )
        for e in exc.errors(include_input=False)
    ]
    names = ", ".join(e.field for e in errors[:5])
    return InvalidResource(
        f"{len(errors)} element(s) of the {resource_type} are not valid: {names}", errors=errors
    )


class FhirRoute(ProblemRoute):
    """Renders what the route raises (auth included) as an OperationOutcome."""

    refused = "parameter"

    def problem_of(self, exc: Exception) -> ProblemFacts | None:
        if isinstance(exc, DataError):
            # A value the database cannot hold or compare (a NUL, a number out of range).
            detail = "A value in the resource cannot be stored or compared."
            return ProblemFacts(422, "invalid_value", "The request is not valid", detail)
        facts = super().problem_of(exc)
        if facts is None and is_database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return DATABASE_UNAVAILABLE
        return facts

    def answer(self, request: Request, facts: ProblemFacts) -> Response:
        return outcome_response(facts)
