"""A route class for paths that carry a resident ID number: any problem it returns (401, 403,
404, 422 …) names the masked path in `instance`, never the number itself."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any, cast

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from service.errors import ProblemFacts, ServiceError, invalid_request, problem_response
from service.flat_route import FlatRoute
from service.observability import redact


class MaskedPathRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def masked(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                return _problem(request, ProblemFacts.of(exc))
            except RequestValidationError as exc:
                return _problem(request, invalid_request(exc))

        return masked


def _problem(request: Request, facts: ProblemFacts) -> Response:
    shown = SimpleNamespace(
        state=request.state,
        headers=request.headers,
        url=SimpleNamespace(path=redact(request.url.path)),
    )
    return problem_response(cast(Request, shown), facts)


class FlatMaskedPathRoute(MaskedPathRoute, FlatRoute):
    """Both: the ID number masked in every problem, and solved by one loop (the status check
    is the hottest read; service/flat_route.py)."""
