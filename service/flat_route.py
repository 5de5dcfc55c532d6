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
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, get_origin

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.types import ASGIApp, Receive, Scope, Send

RequestDependency = Callable[[Request], Awaitable[Any]]
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


class FlatRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.max_body_size is not None:  # FastAPI's limit wraps the app replaced below
            raise TypeError(f"{path} cannot be a FlatRoute: it has a body size limit")
        self.app = _respond(self.get_route_handler())

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        route = f"{sorted(self.methods or ())} {self.path}"
        dependencies = flat_dependencies(self.dependant, route=route)
        path = [_param(f, "path", route) for f in self.dependant.path_params]
        query = [_param(f, "query", route) for f in self.dependant.query_params]
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            # In FastAPI's order: the dependencies (the key: 401/403) before the parameters.
            # Plain loops: a comprehension or generator is one more frame per request.
            values: dict[str, Any] = {}
            for name, call in dependencies:
                values[name] = await call(request)
            errors: list[Any] = []
            given = request.path_params
            for p in path:
                values[p.name] = p.read(given.get(p.key), errors)
            # No query string (the usual status check): nothing to parse into a QueryParams.
            asked = request.query_params if request.scope["query_string"] else _NO_QUERY
            for p in query:
                values[p.name] = p.read(asked.get(p.key), errors)
            if errors:
                raise RequestValidationError(errors)
            response = await endpoint(**values)
            if not isinstance(response, Response):  # the endpoint renders its answer itself
                raise TypeError(f"{endpoint.__name__} must return a Response on a FlatRoute")
            return response

        return handler


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


def flat_dependencies(dependant: Dependant, *, route: str) -> list[tuple[str, RequestDependency]]:
    """(parameter name, dependency) for each dependency of the route; TypeError when the route
    needs more than a flat route does (a body, headers, nested or generator dependencies)."""
    refused = [
        kind
        for kind, present in (
            ("a body", dependant.body_params),
            ("header parameters", dependant.header_params),
            ("cookie parameters", dependant.cookie_params),
            ("the request itself", dependant.request_param_name),
            ("a Response parameter", dependant.response_param_name),
            ("background tasks", dependant.background_tasks_param_name),
        )
        if present
    ]
    out = []
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
        elif not _is_coroutine(call):
            refused.append(f"dependency {sub.name!r} is not an async function")
        else:
            out.append((sub.name, call))
    if refused:
        raise TypeError(f"{route} cannot be a FlatRoute: it has {', '.join(refused)}")
    return out


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
