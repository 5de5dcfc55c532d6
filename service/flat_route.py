"""A route solved by one loop instead of FastAPI's general dependency resolver.

On a warm person-status check FastAPI's resolver (`solve_dependencies`, which walks the
dependency tree, sorts the parameters of every node by kind and checks each for generators and
scopes) costs about a third of the request's CPU (ADR 0020). A route whose dependencies each take
only the request (app state, the API key) and whose parameters are path and query parameters
needs none of that: `FlatRoute` calls each dependency with the request, validates each scalar
parameter with a pydantic adapter built once from the parameter's own declaration (errors located
as FastAPI locates them, so a bad parameter gets the same 422), and calls the endpoint. The route
is declared as usual, so the OpenAPI document, its security scheme and its parameters are
FastAPI's. It is served without the two exit stacks FastAPI opens per request for dependencies
with `yield`, which it refuses (`_respond`); errors still go to the app's exception handlers. A
route that does not fit is refused when the app is built, never served differently.

The hot writes (settlement, admission) fit too: a flat route may take one JSON body that is a
pydantic model, read and validated with FastAPI's own steps in FastAPI's order (the JSON read
before any dependency, so a syntax error is a 422 even without a key; the model validated after
the dependencies, its errors after the path's and the query's), and the unit of work
(`UnitOfWorkDep`), recognised by its function and driven as FastAPI drives it: entered in its
place among the dependencies, resumed after the endpoint returned so it commits before the
response is sent, the error thrown into it otherwise, its exit shielded from cancellation. No
other generator dependency is accepted.
"""

from __future__ import annotations

import email.message
import inspect
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, get_origin

from anyio import CancelScope
from fastapi import HTTPException, Request, Response, params
from fastapi._body_limit import get_body_limit_error
from fastapi._compat import ModelField, Undefined, get_missing_field_error
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Receive, Scope, Send

from service.json_body import BODY_REFUSALS, parse
from service.unit_of_work import get_unit_of_work

RequestDependency = Callable[[Request], Any]  # a coroutine function, or the unit of work's
UnitOfWorkGenerator = Callable[[Request], AsyncGenerator[Any, None]]
_SEQUENCES = (list, set, frozenset, tuple)
_NO_QUERY: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class _Param:
    """One path or query parameter: where it is read, and its validator."""

    name: str  # the endpoint's argument
    key: str  # the name in the path or query string
    loc: tuple[str, str]  # ("query", "on"), as FastAPI locates its errors
    validate: Callable[[Any], Any]  # the TypeAdapter's core validator (no wrapper frame)
    required: bool
    default: Any

    def read(self, given: Any, errors: list[Any]) -> Any:
        if given is None:
            if self.required:
                errors.append(
                    {"type": "missing", "loc": self.loc, "msg": "Field required", "input": None}
                )
            return self.default
        try:
            return self.validate(given)
        except ValidationError as exc:
            errors.extend(
                {**e, "loc": (*self.loc, *e["loc"])} for e in exc.errors(include_url=False)
            )
            return None


@dataclass(frozen=True, slots=True)
class _Body:
    """The route's one JSON body, a pydantic model: read and validated as FastAPI does."""

    field: ModelField
    strict_content_type: bool  # no Content-Type: the bytes are validated, not parsed

    async def read(self, request: Request) -> Any:
        """FastAPI's body read (fastapi.routing.get_request_handler): the JSON, or the bytes
        when the content type is not JSON, or Undefined when there are none; a JSON syntax
        error or a repeated key (service/json_body.py) is a 422 and any other failure a 400,
        before any dependency is solved."""
        try:
            body_bytes = await request.body()
            if not body_bytes:
                return Undefined
            content_type = request.headers.get("content-type")
            if content_type == "application/json":  # what every client sends: no MIME parse
                return parse(body_bytes)
            if not content_type:
                return body_bytes if self.strict_content_type else parse(body_bytes)
            message = email.message.Message()
            message["content-type"] = content_type
            if message.get_content_maintype() == "application":
                subtype = message.get_content_subtype()
                if subtype == "json" or subtype.endswith("+json"):
                    return parse(body_bytes)
            return body_bytes
        except BODY_REFUSALS:  # a 422 of its own, before any dependency (a syntax error's place)
            raise
        except json.JSONDecodeError as e:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", e.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": e.msg},
                    }
                ],
                body=e.doc,
            ) from e
        except HTTPException:
            raise
        except Exception as e:
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (error := get_body_limit_error(e)):
                raise error from e
            raise HTTPException(400, "There was an error parsing the body") from e

    def validate(self, body: Any, errors: list[Any]) -> Any:
        if body is Undefined:
            errors.append(get_missing_field_error(("body",)))
            return None
        value, found = self.field.validate(body, {}, loc=("body",))
        errors.extend(found)
        return value


class FlatRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.max_body_size is not None:  # FastAPI's limit wraps the app replaced below
            raise TypeError(f"{path} cannot be a FlatRoute: it has a body size limit")
        self.app = _respond(self.get_route_handler())

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        route = f"{sorted(self.methods or ())} {self.path}"
        dependencies, unit = flat_dependencies(self.dependant, route=route)
        path = [_param(f, "path", route) for f in self.dependant.path_params]
        query = [_param(f, "query", route) for f in self.dependant.query_params]
        body = self._body(route)
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            # The body first, as FastAPI reads it before solving anything (bad JSON: 422).
            received = Undefined if body is None else await body.read(request)
            # Then in FastAPI's order: the dependencies (the key: 401/403; the unit of work
            # where it is declared), the parameters, the body's model, the endpoint.
            # Plain loops: a comprehension or generator is one more frame per request.
            values: dict[str, Any] = {}
            uow: AsyncGenerator[Any, None] | None = None
            try:
                for name, call in dependencies:
                    if call is unit:  # entered; exited below only once it has yielded
                        entering = call(request)
                        values[name] = await entering.__anext__()
                        uow = entering
                    else:
                        values[name] = await call(request)
                errors: list[Any] = []
                given = request.path_params
                for p in path:
                    values[p.name] = p.read(given.get(p.key), errors)
                # No query string (the usual status check): nothing to parse into a QueryParams.
                asked = request.query_params if request.scope["query_string"] else _NO_QUERY
                for p in query:
                    values[p.name] = p.read(asked.get(p.key), errors)
                if body is not None:
                    values[body.field.name] = body.validate(received, errors)
                if errors:
                    raise RequestValidationError(
                        errors, body=None if received is Undefined else received
                    )
                response = await endpoint(**values)
                if not isinstance(response, Response):  # the endpoint renders its answer itself
                    raise TypeError(f"{endpoint.__name__} must return a Response on a FlatRoute")
            except BaseException as exc:
                if uow is not None:  # the unit's `finally` rolls back and re-raises the error
                    with CancelScope(shield=True):
                        await uow.athrow(exc)
                raise
            if uow is not None:  # commit, before the response is sent (ADR 0009)
                with CancelScope(shield=True):
                    await _finish(uow)
            return response

        return handler

    def _body(self, route: str) -> _Body | None:
        """The route's JSON body; TypeError unless it is one required pydantic model, not
        embedded, not a form."""
        fields = self.dependant.body_params
        if not fields:
            return None
        field = fields[0]
        info = field.field_info
        model = info.annotation
        if (
            len(fields) > 1
            or self._embed_body_fields
            or isinstance(info, params.Form)
            or not info.is_required()
            or not (isinstance(model, type) and issubclass(model, BaseModel))
        ):
            raise TypeError(f"{route} cannot be a FlatRoute: its body is not one pydantic model")
        strict = self.strict_content_type
        if isinstance(strict, DefaultPlaceholder):
            strict = strict.value
        return _Body(field=field, strict_content_type=bool(strict))


async def _finish(uow: AsyncGenerator[Any, None]) -> None:
    """Resume the unit of work after its yield: it commits and closes, and must end there."""
    try:
        await uow.__anext__()
    except StopAsyncIteration:
        return
    raise RuntimeError("the unit of work did not stop after its commit")


def flat_post(
    router: APIRouter, path: str, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@router.post(path, ...)` for one route of a router whose other routes stay FastAPI's
    (the hot writes beside the cold ones): the same declaration, served as a FlatRoute."""

    def add(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(
            path, endpoint, methods=["POST"], route_class_override=FlatRoute, **kwargs
        )
        return endpoint

    return add


def _respond(handler: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """FastAPI's `request_response` without the two exit stacks it opens around every request
    for dependencies with `yield` (~5 µs; a flat route has none): the request, the handler,
    the response, and exceptions turned into answers by the app's handlers as there."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await handler(request)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(respond, request)(scope, receive, send)

    return app


def flat_dependencies(
    dependant: Dependant, *, route: str
) -> tuple[list[tuple[str, RequestDependency]], UnitOfWorkGenerator | None]:
    """(parameter name, dependency) for each dependency of the route, and the unit of work's
    generator if it takes `UnitOfWorkDep` (it is in the list, in its place); TypeError when the
    route needs more than a flat route does (headers, nested or other generator dependencies).
    The body is judged by the route."""
    refused = [
        kind
        for kind, present in (
            ("header parameters", dependant.header_params),
            ("cookie parameters", dependant.cookie_params),
            ("the request itself", dependant.request_param_name),
            ("a Response parameter", dependant.response_param_name),
            ("background tasks", dependant.background_tasks_param_name),
        )
        if present
    ]
    out: list[tuple[str, RequestDependency]] = []
    unit: UnitOfWorkGenerator | None = None
    for sub in dependant.dependencies:
        call = sub.call
        takes_only_the_request = (
            sub.request_param_name is not None
            and not sub.dependencies
            and not (sub.path_params or sub.query_params or sub.header_params)
            and not (sub.cookie_params or sub.body_params)
        )
        if call is None or sub.name is None or not takes_only_the_request:
            refused.append(
                f"dependency {getattr(call, '__name__', call)!r} takes more than the request"
            )
        elif call is get_unit_of_work:
            # Function-scoped: it commits before the response, as the flat route does.
            if sub.scope != "function" or unit is not None:
                refused.append("the unit of work other than once as UnitOfWorkDep")
            unit = get_unit_of_work
            out.append((sub.name, get_unit_of_work))
        elif not _is_coroutine(call):
            refused.append(f"dependency {sub.name!r} is not an async function")
        else:
            out.append((sub.name, call))
    if refused:
        raise TypeError(f"{route} cannot be a FlatRoute: it has {', '.join(refused)}")
    return out, unit


def _param(field: Any, where: str, route: str) -> _Param:
    """A scalar parameter's reader; TypeError for a list parameter (a flat route reads one
    value per name)."""
    info = field.field_info
    if get_origin(info.annotation) in _SEQUENCES or info.annotation in _SEQUENCES:
        raise TypeError(f"{route} cannot be a FlatRoute: {field.name} takes several values")
    adapter = TypeAdapter[Any](Annotated[info.annotation, info])  # type: ignore[arg-type]
    return _Param(
        name=field.name,
        key=field.alias,
        loc=(where, field.alias),
        validate=adapter.validator.validate_python,
        required=info.is_required(),
        default=None if info.is_required() else info.get_default(call_default_factory=True),
    )


def _is_coroutine(call: Callable[..., Any]) -> bool:
    method = call if inspect.isfunction(call) else getattr(call, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(method)
