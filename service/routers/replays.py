"""An idempotent POST answers 201 when it recorded something, 200 when the same request came
before (and a PUT 201 when it created, 200 when it changed or found it so): how that 200 is
documented and answered."""

from __future__ import annotations

from fastapi import Response

REPLAYED = "Idempotent-Replayed"


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


def answer_put(response: Response, outcome: str) -> None:
    """A PUT answers 201 when it created the entry; 200 when it changed it; 200 with
    `Idempotent-Replayed: true` when the entry was so already (nothing written)."""
    if outcome == "unchanged":
        answer_replayed(response)
    elif outcome == "changed":
        response.status_code = 200
