"""A route class for paths that carry a resident ID number: any problem it returns (401, 403,
404, 422 …) names the masked path in `instance`, never the number itself."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from fastapi import Request, Response

from service.errors import ProblemFacts, ProblemRoute, problem_response
from service.flat_route import FlatRoute
from service.observability import redact


class MaskedPathRoute(ProblemRoute):
    """Problems name the path with the ID number masked."""

    def answer(self, request: Request, facts: ProblemFacts) -> Response:
        shown = SimpleNamespace(
            state=request.state,
            headers=request.headers,
            url=SimpleNamespace(path=redact(request.url.path)),
        )
        return problem_response(cast(Request, shown), facts)


class FlatMaskedPathRoute(MaskedPathRoute, FlatRoute):
    """Both: the ID number masked in every problem, and solved by one loop (the status check
    is the hottest read; service/flat_route.py)."""
