"""What a `/v1` operation does not read is refused, not ignored: a query parameter it does not
declare, and a body that is not JSON where it reads JSON.

FastAPI ignores query parameters no route declares. For a write that is a trap: an auditor
who sends `POST /v1/year-end/runs?dry_run=true` (where `dry_run` is a field of the body) gets
the run booked, not tried; a misspelt filter on a list (`?hospital=H1` for `hospital_code`)
silently widens the list. So every `/v1` operation answers such a request with the 422 a query
model with `extra="forbid"` already gives (the ledger's filters): `validation_error`, one
`extra_forbidden` per unknown name, located at `query.<name>`, before any dependency runs.

FastAPI validates a body sent as `text/plain` or a form (or with no Content-Type) as the bytes
it is, so valid JSON with the wrong label got a 422 "Input should be a valid dictionary" that
sent a HIS developer looking at the fields. An operation whose body is JSON answers it with a
415 `unsupported_media_type` naming what it accepts (`application/json`, `application/*+json`,
as FastAPI parses), also before any dependency runs (ADR 0029). Uploads (multipart) keep
FastAPI's own reading.

The NHSA envelope (`/nhsa`, one body; its query is left as it is) meets the same media-type
check, answered in its own envelope (`infcode` -1, `[unsupported_media_type] ...`, HTTP 200 as
every answer about a message there: docs/nhsa.md) rather than the generic validation error
it got. The console (`/console`, HTML forms that carry their own fields) and FHIR (`/fhir`,
where `_format` and the like are the standard's to add, and its own 415) are left as they
are. What a route declares is read from its dependency tree once, when the app is built; a
request with no query string and `Content-Type: application/json` (the hot writes) pays one
falsy check and one pass over its headers, in the one wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, params
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _get_flat_fields_from_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import ProblemRoute, UnsupportedMediaType
from service.json_body import Refuse, is_json_media

STRICT_PREFIX = "/v1/"
# Routes whose body is checked but not their query: their answer is the route's own format.
BODY_ONLY = frozenset({"/nhsa"})
JSON = b"application/json"


def guard_v1(app: FastAPI) -> None:
    """Wrap every `/v1` route so that a query parameter it does not declare is a 422, and a
    body that is not JSON, where it reads JSON, a 415; and `/nhsa` for its body alone."""
    for route in app.router.routes:
        if not isinstance(route, APIRoute) or isinstance(route.app, _Guarded):
            continue
        dependant = route.dependant
        if route.path.startswith(STRICT_PREFIX):
            route.app = _Guarded(route.app, declared_query(dependant), reads_json(dependant))
        elif route.path in BODY_ONLY and isinstance(route, ProblemRoute):
            route.app = _Guarded(route.app, None, reads_json(dependant), route.refuse)


def reads_json(dependant: Dependant) -> bool:
    """Does the route read a JSON body (not a form or an upload)?"""
    return any(not isinstance(f.field_info, params.Form) for f in dependant.body_params)


def declared_query(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a route reads, through all its dependencies; a query model
    (`Annotated[Model, Query()]`) counts by its fields, as FastAPI reads it."""
    # FastAPI's own flattening of a query model into its fields: the names it will accept.
    fields = _get_flat_fields_from_params(list(_query_params(dependant)))
    return frozenset(f.alias for f in fields)


def _query_params(dependant: Dependant) -> Iterator[ModelField]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


class _Guarded:
    """A route's ASGI app behind the check. Routes are module-level objects that every app
    built in the process shares (tests build many), so a route is wrapped once, not per app."""

    def __init__(
        self,
        inner: ASGIApp,
        declared: frozenset[str] | None,
        json_body: bool,
        refuse: Refuse | None = None,
    ) -> None:
        self.inner = inner
        self.declared = declared  # None: the query is not checked
        self.json_body = json_body
        self.refuse = refuse  # the route's own format for the 415; None: the app's handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.json_body:
            # Inline, not a call: the hot writes pass here on every request (ADR 0029).
            media, sized = None, False
            for name, value in scope["headers"]:
                if name == b"content-type":
                    media = value
                elif name == b"content-length":
                    sized = value != b"0"
                elif name == b"transfer-encoding":
                    sized = True
            if media != JSON and (media is not None or sized) and not is_json_media(media or b""):
                if self.refuse is None:
                    raise _not_json(media)
                refused = await self.refuse(Request(scope, receive), _not_json(media))
                await refused(scope, receive, send)
                return
        if scope["query_string"] and self.declared is not None:
            asked = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            unknown = list(dict.fromkeys(n for n, _ in asked if n not in self.declared))
            if unknown:
                raise RequestValidationError(
                    [
                        {
                            "type": "extra_forbidden",
                            "loc": ("query", name),
                            "msg": "Extra inputs are not permitted",
                        }
                        for name in unknown
                    ]
                )
        await self.inner(scope, receive, send)


def _not_json(media: bytes | None) -> UnsupportedMediaType:
    sent = "no Content-Type" if media is None else media.decode("latin-1")[:100]
    return UnsupportedMediaType(
        f"send the body as application/json (or application/*+json), not {sent}"
    )
