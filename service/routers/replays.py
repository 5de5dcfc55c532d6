"""An idempotent POST answers what its first request answered, 201, also when the same request
came again, with `Idempotent-Replayed: true` (ADR 0030); a PUT answers 201 when it created,
200 when it changed or found it so (then with the same header): how each is documented and
answered."""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import Response

from service.recorded import Recorded

REPLAYED = "Idempotent-Replayed"

E = TypeVar("E", covariant=True)
T = TypeVar("T")


class Put(Protocol[E]):
    """What a PUT stored (`service.regions.service.Upserted`): the entry, and whether it was
    created, changed or found so already."""

    @property
    def entry(self) -> E: ...

    @property
    def outcome(self) -> str: ...


def changed_doc(description: str, schema: str) -> dict[str, object]:
    """The OpenAPI entry of a PUT's 200 beside its 201: `description`, a body of `schema`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def replayed_doc(description: str) -> dict[str, object]:
    """The OpenAPI entry of an idempotent POST's 201: the header a replay carries."""
    return {
        "headers": {
            REPLAYED: {
                "description": f"`true` when this is {description}: nothing was written",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    }


def replay_headers(recorded: Recorded[object]) -> dict[str, str]:
    """The headers of an answer a route builds itself (the stored body as it was sent, a
    settlement with its trace): `Idempotent-Replayed: true` when this request wrote nothing."""
    return {REPLAYED: "true"} if recorded.replayed else {}


def answer_replayed(response: Response) -> None:
    """Mark the answer as the stored result of the same earlier request (its status stays
    the first answer's)."""
    response.headers[REPLAYED] = "true"


def answer_recorded(response: Response, recorded: Recorded[T]) -> T:
    """What an idempotent POST stored, marked as a replay when this request wrote nothing."""
    if recorded.replayed:
        answer_replayed(response)
    return recorded.entry


def answer_put(response: Response, stored: Put[T]) -> T:
    """The entry a PUT stored, answered 201 when it created it; 200 when it changed it; 200
    with `Idempotent-Replayed: true` when the entry was so already (nothing written)."""
    if stored.outcome != "created":
        response.status_code = 200
    if stored.outcome == "unchanged":
        answer_replayed(response)
    return stored.entry
