"""The console's refusals that no console route answers, as pages too (ADR 0027): an address
under /console that has no route (404) or not for that method (405), which Starlette refuses
before any route runs, and a form over the body limit (413), which BodySizeLimitMiddleware
refuses before the route reads it (counted against a signed-in session's key, as the guard
counts its pages: past the limit, the 429 page). The API's addresses keep their problem+json.

Nothing the request sent is shown back (the body was not read), and no menu: no route's
guard ran, so who is signed in is not known here. The way back is the form's page where the
address is a form's route, else the console's landing page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from service.console import access
from service.console import session as console
from service.console.answers import problem_words
from service.console.views import page
from service.db import is_database_unavailable
from service.errors import ProblemFacts, RateLimited, http_problem, too_large_limited

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
        return _page(http_problem(exc, request.scope), back=PREFIX)

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


async def too_large_counted(scope: Scope) -> Response | None:
    """BodySizeLimitMiddleware's answer instead of its 413 when the refusal, counted against
    the request's key, took the key past its limit; None: the 413 (ADR 0006). The API's key is
    its header (service.errors.too_large_limited); the console's is its session's, which the
    router's guard counts and a refused body never reaches: counted here as the guard counts
    it, for a route that needs a session, and past the limit the 429 page."""
    if not is_console(scope["path"]):
        return await too_large_limited(scope)
    matched = _matched(scope)
    if matched is None or matched[0].roles is None:  # undeclared or public: no session
        return None
    request = Request(scope)
    if not console.cookie_token(request):
        return None
    state = scope["app"].state
    try:
        async with state.sessionmaker() as session:
            user = await console.current_user(request, session)
        if user is not None:
            await state.rate_limiter.hit(user.principal.key_id)
    except RateLimited as limited:
        return _page(ProblemFacts.of(limited), back=PREFIX)
    except Exception as error:
        if not is_database_unavailable(error):
            raise
        # The session cannot be read, so its key cannot be counted: the 413 page, as it was.
    return None


def _matched(scope: Scope) -> tuple[access.Access, dict[str, Any]] | None:
    """The matched console route's entry in the access table and its path parameters."""
    for route in scope["app"].router.routes:
        if not isinstance(route, APIRoute):
            continue
        match, child = route.matches(scope)
        if match is Match.FULL:
            rule = access.CONSOLE_ACCESS.get((scope["method"], route.path))
            return None if rule is None else (rule, child["path_params"])
    return None


def _form_of(scope: Scope) -> str | None:
    """The page of the form the request was posted from, as the route's entry names it."""
    matched = _matched(scope)
    form = matched[0].form if matched is not None else None
    return form.format(**matched[1]) if matched is not None and form else None


def _page(facts: ProblemFacts, *, back: str) -> Response:
    return page(
        "problem.html",
        status_code=facts.status,
        user=None,
        error=problem_words(facts),
        back=back,
        headers=dict(facts.headers),
    )
