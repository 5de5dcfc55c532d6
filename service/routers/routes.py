"""The house defaults of a route's declaration, said once: the problems a read of a
role-checked key may answer, the file a download answers, and how a write that records
documents the 200 of a replay. A route still names its own path, summary and options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.datastructures import Default
from fastapi.responses import JSONResponse
from fastapi.types import DecoratedCallable
from pydantic import BaseModel

from service.errors import problem_responses
from service.routers.replays import changed_doc, replayed_doc
from service.violations.export import CSV_MEDIA, XLSX_MEDIA

WRITE_PROBLEMS = (401, 403, 404, 409, 422)
"""What a write on a stored object may answer: no key, a role that may not, the object not
there (or not the caller's), a conflict with what is stored, a body out of range."""


def read(
    router: APIRouter,
    path: str,
    summary: str | None = None,
    *,
    not_found: bool = False,
    parameters: bool = True,
    download: str | None = None,
    response_model: Any = Default(None),
    response_class: type[Response] = Default(JSONResponse),
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A GET for keys whose role is checked: 401 without a key, 403 for a role that may not,
    422 for a parameter out of range (unless it takes no `parameters`); with `not_found`, also
    404 (what it names is not there, or not the caller's to see: never a 403). `download`
    describes the 200 when it is a file (XLSX or CSV) the route answers itself, rather than
    JSON. `response_model` and `response_class` as FastAPI's."""
    statuses = (401, 403, *((404,) if not_found else ()), *((422,) if parameters else ()))
    responses = problem_responses(*statuses)
    if download is not None:
        responses[200] = {"description": download, "content": {XLSX_MEDIA: {}, CSV_MEDIA: {}}}
        response_class = Response  # the route builds the file's answer itself: no JSON
    return router.get(
        path,
        responses=responses,
        summary=summary,
        response_model=response_model,
        response_class=response_class,
    )


def recording(
    route: Callable[..., Callable[[DecoratedCallable], DecoratedCallable]],
    path: str,
    summary: str,
    *,
    replayed: tuple[str, type[BaseModel]] | None = None,
    changed: tuple[str, type[BaseModel]] | None = None,
    problems: tuple[int, ...] = WRITE_PROBLEMS,
    description: str | None = None,
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST or PUT (`router.post`, `router.put`, a hot write's `partial(flat_post, router)`)
    that answers 201 when it recorded something. An idempotent POST names what a replay is and
    the answer's model (`replayed`): a replay answers 201 too, with `Idempotent-Replayed: true`
    (ADR 0030). A PUT names what its 200 says and the answer's model (`changed`): changed, or
    found so already."""
    extra: dict[str, object] = {}
    model: type[BaseModel] | None = None
    if replayed is not None:
        said, model = replayed
        extra = {"responses": {"201": replayed_doc(said)}}
    elif changed is not None:
        said, model = changed
        extra = {"responses": {"200": changed_doc(said, model.__name__)}}
    if model is None:
        return route(
            path,
            status_code=201,
            responses=problem_responses(*problems),
            summary=summary,
            description=description,
        )
    return route(
        path,
        status_code=201,
        response_model=model,
        responses=problem_responses(*problems),
        summary=summary,
        description=description,
        openapi_extra=extra,
    )
