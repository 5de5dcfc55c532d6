"""The console's refusals that no console route answers, as pages too (ADR 0027): an address
under /console that has no route (404) or not for that method (405), which Starlette refuses
before any route runs, and a form over the body limit (413), which BodySizeLimitMiddleware
refuses before the route reads it. The API's addresses keep their problem+json.

Nothing the request sent is shown back (the body was not read), and no menu: no route's
guard ran, so who is signed in is not known here. The way back is the form's page where the
address is a form's route, else the console's landing page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from service.console import access
from service.console.answers import problem_words
from service.console.views import page
from service.errors import ProblemFacts, http_problem

PREFIX = "/console"
Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer_unrouted(app: FastAPI) -> None:
    """Starlette's refusals of a console address as pages; every other address keeps the
    app's handler (installed first, by service.errors.install_error_handlers)."""
    api = cast(Handler, app.exception_handlers[StarletteHTTPException])

    async def answered(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code < 400 or not is_console(request.scope["path"]):
            return await api(request, exc)  # a sign-in redirect (303) included
        return _page(http_problem(exc), back=PREFIX)

    app.add_exception_handler(StarletteHTTPException, answered)


def too_large_page(scope: Scope, max_bytes: int) -> Response | None:
    """BodySizeLimitMiddleware's answer under /console; None elsewhere (problem+json)."""
    if not is_console(scope["path"]):
        return None
    facts = ProblemFacts(
        413,
        "payload_too_large",
        "Payload too large",
        f"request bodies are limited to {max_bytes} bytes",
    )
    return _page(facts, back=_form_of(scope) or PREFIX)


def _form_of(scope: Scope) -> str | None:
    """The page of the form the request was posted from, as the route's entry names it."""
    for route in scope["app"].router.routes:
        if not isinstance(route, APIRoute):
            continue
        match, child = route.matches(scope)
        if match is Match.FULL:
            rule = access.CONSOLE_ACCESS.get((scope["method"], route.path))
            form = rule.form if rule is not None else None
            return form.format(**child["path_params"]) if form else None
    return None


def _page(facts: ProblemFacts, *, back: str) -> Response:
    return page(
        "problem.html",
        status_code=facts.status,
        user=None,
        error=problem_words(facts),
        back=back,
        headers=dict(facts.headers),
    )
