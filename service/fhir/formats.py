"""What a client may ask the answer in (`_format`, `Accept`): FHIR JSON only (docs/fhir.md).

A request for another format (XML, Turtle) is a 406 OperationOutcome, as the specification
requires of the CapabilityStatement ("Resource formats": a request for it "in a format it does
not otherwise support ... SHALL return a 406 Not Acceptable"), rather than JSON the client
did not ask for. `_format` overrides `Accept`, as the specification says it does.
"""

from __future__ import annotations

from fastapi import Request

from service.fhir.errors import NotAcceptable

# `_format` values that mean JSON (the specification's short `json`, and the media types).
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "text/json"})
# `Accept` media ranges JSON satisfies.
JSON_RANGES = frozenset({"*/*", "application/*", "application/json", "application/fhir+json"})


def _media(value: str) -> str:
    # An unencoded `+` in a query string reads as a space (`application/fhir json`).
    return value.split(";", 1)[0].strip().lower().replace(" ", "+")


def _weight(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


def acceptable(request: Request) -> None:
    """Refuse a request whose `_format` or `Accept` admits no JSON answer."""
    asked = request.query_params.get("_format")
    if asked is not None:
        if _media(asked) in JSON_FORMATS:
            return
        raise NotAcceptable(
            f"_format {asked[:60]!r} is not served: ask for json (application/fhir+json)"
        )
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return
    for part in accept.split(","):
        media, _, params = part.partition(";")
        if _media(media) in JSON_RANGES and _weight(params) > 0:
            return
    raise NotAcceptable(
        f"Accept {accept[:80]!r} admits no format served here: only application/fhir+json"
    )
