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
from service.routers.replays import replay_doc
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
    problems: tuple[int, ...] = WRITE_PROBLEMS,
    description: str | None = None,
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST or PUT (`router.post`, `router.put`) that answers 201 when it recorded something.
    `replayed` (what the 200 says, the answer's model) when it also answers 200 with the object
    as stored, because the same request came before: the 201 and that 200 carry one model."""
    if replayed is None:
        return route(
            path,
            status_code=201,
            responses=problem_responses(*problems),
            summary=summary,
            description=description,
        )
    said, model = replayed
    return route(
        path,
        status_code=201,
        response_model=model,
        responses=problem_responses(*problems),
        summary=summary,
        description=description,
        openapi_extra={"responses": {"200": replay_doc(said, model.__name__)}},
    )
