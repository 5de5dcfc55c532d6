"""An idempotent POST answers 201 when it recorded something, 200 when the same request came
before (and a PUT 201 when it created, 200 when it changed or found it so): how that 200 is
documented and answered."""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import Response

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


def replay_doc(description: str, schema: str) -> dict[str, object]:
    """The OpenAPI entry of the 200 beside a 201: `description`, a body of `schema`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def answer_replayed(response: Response) -> None:
    """Answer 200 with `Idempotent-Replayed: true`: the stored result of the earlier request."""
    response.status_code = 200
    response.headers[REPLAYED] = "true"


def answer_put(response: Response, stored: Put[T]) -> T:
    """The entry a PUT stored, answered 201 when it created it; 200 when it changed it; 200
    with `Idempotent-Replayed: true` when the entry was so already (nothing written)."""
    if stored.outcome == "unchanged":
        answer_replayed(response)
    elif stored.outcome == "changed":
        response.status_code = 200
    return stored.entry
