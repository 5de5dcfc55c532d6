"""A JSON request body with a key repeated in one object is refused, at any depth (ADR 0026).

Python's `json` (Starlette's `Request.json`, hence FastAPI's body) keeps the last of repeated
keys; a gateway, a WAF or the HIS's own log may read the first. `{"visit_id": "A", "visit_id":
"B"}` would then be checked upstream as A and recorded here as B. So every body this service
parses as JSON goes through `parse`, which answers a repeated key with a 422 `duplicate_key`
naming its path (`bill.lines.1.code`):

- the hot writes (`FlatRoute`, service/flat_route.py) read their body with it;
- every other route that can take a body is wrapped once, when the app is built
  (`refuse_duplicate_keys`): the body is read and checked before the route runs, then handed
  to it unchanged. The route's own problem format answers (problem+json, the NHSA envelope, a
  FHIR OperationOutcome) through `ProblemRoute.refuse`.

The check is the parse itself: `json.loads` with an `object_pairs_hook` that compares the
object's length with its pairs' (one call per object, no second pass). Only when that finds a
repeat is the body parsed again to say where. A cheaper textual pre-check would be unsafe:
`"visit\\u005fid"` is `visit_id` once decoded, so no search of the raw bytes for a repeated
`"visit_id"` can prove there is none.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ProblemRoute, ServiceError, Unprocessable

Refuse = Callable[[Request, ServiceError], Awaitable[Response]]
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class DuplicateKey(Unprocessable):
    code, title = "duplicate_key", "A key is repeated in the body"


class NestedTooDeep(Unprocessable):
    """Python's decoder recurses once per level: a body of a few thousand brackets (a few KB)
    would end in RecursionError, a 500."""

    code, title = "malformed_body", "The request is not valid"


BODY_REFUSALS = (DuplicateKey, NestedTooDeep)


class _Repeated(Exception):
    """Raised through `json.loads` by the hook: the body repeats a key somewhere."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Repeated
    return found


def parse(raw: bytes) -> Any:
    """The body's JSON, as `json.loads` reads it; DuplicateKey if an object repeats a key,
    NestedTooDeep past the decoder's depth. Invalid JSON raises `json.JSONDecodeError` as
    `json.loads` does."""
    # json.loads(raw) step by step with a decoder built once (loads builds one per call when
    # given a hook): the encoding it would detect, then the decoder.
    text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    try:
        return _CHECKING.decode(text)
    except RecursionError:
        raise NestedTooDeep("the body nests arrays or objects too deeply to be read") from None
    except _Repeated:
        path = _first_repeat(_MARKING.decode(text))
        raise DuplicateKey(
            f"the key {path!r} appears more than once; send each key once", field=path
        ) from None


class _Marked(dict[str, Any]):
    """An object of the slow parse, with the first key it repeats (or None)."""

    repeated: str | None = None

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]]) -> _Marked:
        found = cls(pairs)
        if len(found) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    found.repeated = key
                    break
                seen.add(key)
        return found


_CHECKING = json.JSONDecoder(object_pairs_hook=_unique)
_MARKING = json.JSONDecoder(object_pairs_hook=_Marked.of)


def _first_repeat(value: Any, path: tuple[str, ...] = ()) -> str:
    """The dotted path of the first repeated key, outermost first ("" if none)."""
    if isinstance(value, _Marked):
        if value.repeated is not None:
            return ".".join((*path, value.repeated))
        items: Any = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return ""
    for key, inner in items:
        if found := _first_repeat(inner, (*path, key)):
            return found
    return ""


def is_json_media(content_type: bytes) -> bool:
    """FastAPI's own test of a Content-Type: `application/json` or `application/<any>+json`,
    any case, with parameters (`; charset=utf-8`)."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (
        kind.startswith(b"application/") and kind.endswith(b"+json")
    )


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI (or the FHIR reader) would parse this body as JSON: a JSON content
    type, or none."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return is_json_media(value)
    return True


class _Checked:
    """A route's ASGI app behind the check. Routes are module-level objects that every app
    built in the process shares (tests build many), so a route is wrapped once, not per app."""

    def __init__(self, inner: ASGIApp, refuse: Refuse | None) -> None:
        self.inner = inner
        self.refuse = refuse  # the route's own format; None: the app's handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.inner(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            body = await request.body()
        except Exception as exc:  # too large, a disconnect: the route meets it as it reads
            await self.inner(scope, _failing(exc), send)
            return
        if body:
            try:
                parse(body)
            except BODY_REFUSALS as exc:
                if self.refuse is None:
                    raise
                await (await self.refuse(request, exc))(scope, receive, send)
                return
            except ValueError:  # not JSON: the route refuses it in its own words
                pass
        await self.inner(scope, _replaying(body, receive), send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:  # after the body: a disconnect, as the server reports it
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _failing(exc: Exception) -> Receive:
    async def fail() -> Message:
        raise exc

    return fail


def _wrapped(app: ASGIApp) -> bool:
    """Whether the check is already among the wrappers (the query check's, ADR 0024)."""
    layer: object = app
    while layer is not None:
        if isinstance(layer, _Checked):
            return True
        layer = getattr(layer, "inner", None)
    return False


def refuse_duplicate_keys(app: FastAPI) -> None:
    """Wrap every route that can take a body and does not read it with `parse` itself (a
    `FlatRoute` does), so that a repeated key is a 422 before the route runs."""
    from service.flat_route import FlatRoute  # it imports this module for `parse`

    for route in app.router.routes:
        if (
            isinstance(route, APIRoute)
            and not isinstance(route, FlatRoute)
            and (route.methods or set()) & _BODY_METHODS
            and not _wrapped(route.app)
        ):
            refuse = route.refuse if isinstance(route, ProblemRoute) else None
            route.app = _Checked(route.app, refuse)
