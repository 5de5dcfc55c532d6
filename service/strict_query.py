"""A query parameter an operation does not declare is refused, not ignored.

FastAPI ignores query parameters no route declares. For a write that is a trap: an auditor
who sends `POST /v1/year-end/runs?dry_run=true` (where `dry_run` is a field of the body) gets
the run booked, not tried; a misspelt filter on a list (`?hospital=H1` for `hospital_code`)
silently widens the list. So every `/v1` operation answers such a request with the 422 a query
model with `extra="forbid"` already gives (the ledger's filters): `validation_error`, one
`extra_forbidden` per unknown name, located at `query.<name>`, before any dependency runs.

The console (`/console`, HTML forms that carry their own fields), the NHSA envelope (`/nhsa`,
one body) and FHIR (`/fhir`, where `_format` and the like are the standard's to add) are left
as they are. The declared names are read from each route's dependency tree once, when the app
is built; a request with no query string (the hot writes) pays one falsy check.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _get_flat_fields_from_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

STRICT_PREFIX = "/v1/"


def refuse_undeclared_query(app: FastAPI) -> None:
    """Wrap every `/v1` route so that a query parameter it does not declare is a 422."""
    for route in app.router.routes:
        if (
            isinstance(route, APIRoute)
            and route.path.startswith(STRICT_PREFIX)
            and not isinstance(route.app, _Guarded)
        ):
            route.app = _Guarded(route.app, declared_query(route.dependant))


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

    def __init__(self, inner: ASGIApp, declared: frozenset[str]) -> None:
        self.inner = inner
        self.declared = declared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["query_string"]:
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
