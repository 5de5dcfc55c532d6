"""The route helpers (service/routers/routes.py) declare what a route of their kind answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Response
from pydantic import BaseModel

from service.errors import PROBLEM_JSON
from service.routers.routes import read, recording


class ThingPublic(BaseModel):
    id: int


def _operations() -> dict[str, Any]:
    router = APIRouter()

    @read(router, "/things", "Things")
    async def things() -> list[ThingPublic]:
        return []

    @read(router, "/things/{thing_id}", not_found=True)
    async def thing(thing_id: int) -> ThingPublic:
        return ThingPublic(id=thing_id)

    @read(router, "/things/{thing_id}/file", not_found=True, download="the thing as a file")
    async def thing_file(thing_id: int) -> Response:
        return Response(b"")

    @recording(router.post, "/things", "Record a thing", replayed=("recorded before", ThingPublic))
    async def record() -> ThingPublic:
        return ThingPublic(id=1)

    @recording(router.put, "/things/{thing_id}", "Put a thing", problems=(401, 422))
    async def put(thing_id: int) -> ThingPublic:
        return ThingPublic(id=thing_id)

    app = FastAPI()
    app.include_router(router)
    paths: dict[str, Any] = app.openapi()["paths"]
    return paths


def test_reads_answer_the_problems_of_a_role_checked_key() -> None:
    paths = _operations()
    listed = paths["/things"]["get"]["responses"]
    one = paths["/things/{thing_id}"]["get"]["responses"]
    assert sorted(listed) == ["200", "401", "403", "422", "429"]
    assert sorted(one) == ["200", "401", "403", "404", "422", "429"]
    assert PROBLEM_JSON in one["404"]["content"]
    assert paths["/things"]["get"]["summary"] == "Things"


def test_a_download_documents_its_file() -> None:
    answer = _operations()["/things/{thing_id}/file"]["get"]["responses"]["200"]
    assert answer["description"] == "the thing as a file"
    assert "text/csv; charset=utf-8" in answer["content"]
    assert "application/json" not in answer["content"]


def test_a_recording_write_answers_201_and_documents_its_replay_with_its_model() -> None:
    paths = _operations()
    posted = paths["/things"]["post"]["responses"]
    schema = {"$ref": "#/components/schemas/ThingPublic"}
    assert posted["201"]["content"]["application/json"]["schema"] == schema
    # A replay answers 201 too (ADR 0030): documented as the header, not a second status.
    replayed = posted["201"]["headers"]["Idempotent-Replayed"]
    assert replayed["description"] == "`true` when this is recorded before: nothing was written"
    assert sorted(posted) == ["201", "401", "403", "404", "409", "422", "429"]
    put = paths["/things/{thing_id}"]["put"]["responses"]
    assert sorted(put) == ["201", "401", "422", "429"]


def test_the_hot_idempotent_writes_document_the_header_a_replay_carries() -> None:
    """Admission, deposit and settlement answer a replay 201 with `Idempotent-Replayed: true`
    (ADR 0030); a HIS vendor reading the OpenAPI document must find the header there."""
    from service.app import create_app

    paths = create_app().openapi()["paths"]
    for path in ("/v1/admissions", "/v1/admissions/{visit_id}/deposits", "/v1/settlements"):
        created = paths[path]["post"]["responses"]["201"]
        header = created["headers"]["Idempotent-Replayed"]
        assert header["schema"] == {"type": "string", "enum": ["true"]}, path
        assert "nothing was written" in header["description"], path
        assert created["content"]["application/json"]["schema"]["$ref"].endswith("Public"), path
