"""How the console answers a refusal: a page, never problem+json (a browser shows that as raw
JSON, and the person loses what they typed).

`ConsoleRoute` is the route class of every console router. What its routes raise (a service's
404, 409 or 422, the guard's 403) and the requests FastAPI refuses (a bad or missing form
field) are the same `ProblemFacts` the API answers, with the same status, rendered in Chinese:

- a refused form (a POST, or a page's GET filters) comes back as the page that shows the form
  (the `form` of the route's entry in service/console/access.py), rendered by that page's own
  route without the query, with what was typed kept, the refusal on top and each field's
  message (service/locale/zh_CN.yaml) beside its input;
- the guard's refusals (another site's form, a stale CSRF token, a page the role may not
  open), a route with no form, or a form whose page cannot be shown either: a page with the
  message and a link back. Nothing a refused guard saw is shown back.

A signed-out request is redirected to the sign-in page (303), except a form posted after its
session expired: the sign-in page carrying what was typed (401, service/console/carry.py).
Unexpected errors are left to the app's handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from starlette.types import Message, Receive, Scope, Send

from service.console import access
from service.console.session import COOKIE, FormTokenInvalid, SignInFirst
from service.errors import (
    INVALID_VALUE,
    FieldProblem,
    ProblemFacts,
    RateLimited,
    ServiceError,
    invalid_request,
)
from service.problems_zh import catalog

NEVER_SHOWN_BACK = frozenset({"csrf"})
LOCKED_OUT = frozenset({access.ConsolePageForbidden.code, access.ConsoleRouteUndeclared.code})
# The guard's refusals: the form is not shown again, nor anything it sent (a form posted from
# another site must not come back as the person's own page, filled in by that site).
NOT_REFILLED = LOCKED_OUT | {access.CrossSiteForm.code, FormTokenInvalid.code}
# Past the key's rate limit the form's page is not rendered again: that would be a request of
# the same key, refused in turn.
NOT_REFILLED |= {RateLimited.code}
EARLIER_SESSION = (
    "表单已失效：此页面是在上一次登录时打开的。您填写的内容已保留，尚未办理，请核对后重新提交。"
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a page shows of a refused form: the message, each field's, and what was typed."""

    error: str
    field_errors: dict[str, str] = field(default_factory=dict)
    posted: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # a notice instead of an error (a form carried over a sign-in)


REFUSAL: ContextVar[Refusal | None] = ContextVar("console_refusal", default=None)


def refusal_context() -> dict[str, Any]:
    """The template context a refused form's page adds (empty outside one)."""
    refusal = REFUSAL.get()
    if refusal is None:
        return {}
    shown = {"error": refusal.error, "field_errors": refusal.field_errors, "posted": refusal.posted}
    return shown if refusal.message is None else {**shown, "message": refusal.message}


@contextmanager
def _refused(refusal: Refusal) -> Iterator[None]:
    token = REFUSAL.set(refusal)
    try:
        yield
    finally:
        REFUSAL.reset(token)


def input_of(problem: FieldProblem) -> str:
    """The form input a problem names: a nested field (`source_text.layers.0`) is its
    input's."""
    return problem.field.split(".")[0]


def field_words(problem: FieldProblem) -> str:
    return catalog().field_message(problem.code, problem.message)


def problem_words(facts: ProblemFacts) -> str:
    """A refusal as the console shows it: the Chinese title and advice of its code, then the
    English detail (which names the thing at fault) and each field's problem (the detail said
    once: a problem raised with `field=` carries it as that field's message too). Each field's
    message in Chinese is shown beside its input too (`field_errors`)."""
    # Imported here: identity (which idtext uses) subclasses service.errors.
    from service.idtext import redact

    words = catalog().problems.get(facts.code)
    fields = [f"{p.field}: {p.message}" for p in facts.errors]
    said = any(p.message == facts.detail for p in facts.errors)
    detail = redact("；".join(fields if said else [facts.detail, *fields]))
    return f"{words[0]}：{words[1]}（{detail}）" if words else detail


class ConsoleRoute(APIRoute):
    """Answers a console route's problems as pages (see the module's docstring).

    The page is the route's own exception handler for `ServiceError`,
    `RequestValidationError` and `DataError`, put in the scope Starlette reads the app's
    handlers from. A handler runs after the route's dependencies have closed: the refused
    request's unit of work has rolled back (and let go of SQLite's write lock) before the
    form's page is read. (`ProblemRoute` catches inside the handler, before that.)"""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        inner = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            handlers, by_status = scope["starlette.exception_handlers"]
            own = {
                **handlers,
                ServiceError: answer,
                RequestValidationError: answer,
                DataError: answer,
                SignInFirst: to_sign_in,
            }
            await inner({**scope, "starlette.exception_handlers": (own, by_status)}, receive, send)

        self.app = app


async def to_sign_in(request: Request, exc: Exception) -> Response:
    """Signed out: to the sign-in page, as a browser expects a redirect (it was a problem+json
    document titled "HTTP error" with status 303), naming the page asked for to come back to
    (service/console/return_to.py). A form posted after its session expired is answered with
    the sign-in page carrying what was typed (service/console/carry.py)."""
    from service.console.carry import sign_in_keeping
    from service.console.return_to import sign_in_address

    kept = await sign_in_keeping(request)
    return kept if kept is not None else RedirectResponse(sign_in_address(request), 303)


async def answer(request: Request, exc: Exception) -> Response:
    """A refusal of a console route, as a page."""
    from service.console.views import page

    if isinstance(exc, RequestValidationError):
        facts = invalid_request(exc)
    elif isinstance(exc, DataError):  # a NUL character PostgreSQL will not store
        facts = INVALID_VALUE
    else:
        assert isinstance(exc, ServiceError)
        facts = ProblemFacts.of(exc)
    route = request.scope["route"]
    rule = access.CONSOLE_ACCESS.get((request.method, route.path))
    form = rule.form if rule is not None else None
    back = form.format(**request.path_params) if form else "/console"  # the landing page
    if facts.status == 404 or facts.code in LOCKED_OUT:  # the page is not there for them
        back = "/console"
    # A form of an earlier session of the same key (the person signed in again in another
    # tab): what was typed comes back, to be submitted again with this session's token.
    earlier = isinstance(exc, FormTokenInvalid) and exc.same_key
    if form and facts.status < 500 and (facts.code not in NOT_REFILLED or earlier):
        refusal = Refusal(
            EARLIER_SESSION if earlier else problem_words(facts),
            {input_of(p): field_words(p) for p in reversed(facts.errors)},
            await _posted(request),
        )
        shown = await form_page(request, form, refusal)
        if shown is not None:
            return _with_status(shown, facts)
    return page(
        "problem.html",
        status_code=facts.status,
        user=getattr(request.state, "console_user", None),
        error=problem_words(facts),
        back=back,
        headers=dict(facts.headers),
    )


async def _posted(request: Request) -> dict[str, str]:
    """What the person typed (not the token, not a file), masked as every answer is."""
    from service.idtext import redact

    sent: list[tuple[str, object]]
    if request.method in access.SAFE_METHODS:  # a page's filters
        sent = list(request.query_params.multi_items())
    else:
        try:
            form = await request.form()  # parsed already, for the route: Starlette keeps it
        except Exception:  # a body that could not be read as a form: nothing to show back
            return {}
        sent = list(form.multi_items())
    return {
        name: redact(value)
        for name, value in sent
        if name not in NEVER_SHOWN_BACK and isinstance(value, str)
    }


async def form_page(
    request: Request, form: str, refusal: Refusal, *, cookie: str | None = None
) -> Response | None:
    """The form's page as its own GET route renders it (its guard included), with the
    refusal in its context; None when that page cannot be shown either (gone, not allowed).
    `cookie`: the session token to read the page with instead of the request's (a sign-in's
    new session, service/console/carry.py)."""
    route = next(
        r
        for r in request.app.router.routes
        if isinstance(r, APIRoute) and r.path == form and "GET" in (r.methods or ())
    )
    path = form.format(**request.path_params)
    scope = {
        **request.scope,
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "route": route,
    }
    if cookie is not None:
        named = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"cookie"]
        scope["headers"] = [*named, (b"cookie", f"{COOKIE}={cookie}".encode("latin-1"))]
    _, child = route.matches(scope)
    scope.update(child)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with _refused(refusal):
        await route.handle(scope, receive, send)
    start = sent[0]
    if start["status"] != 200:
        return None
    body = b"".join(m.get("body", b"") for m in sent[1:])
    headers = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in start["headers"]
        if k.lower() != b"content-length"
    }
    return Response(body, status_code=200, headers=headers)


def _with_status(response: Response, facts: ProblemFacts) -> Response:
    response.status_code = facts.status
    response.headers.update(facts.headers)
    return response
