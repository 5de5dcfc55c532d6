"""A form that outlived its session: carried through the sign-in page, shown again filled in.

A console session lasts 8 hours (service/console/session.py). A rectification note typed over an
afternoon and posted after that used to end on the sign-in page with the note gone. The console
has no JavaScript and keeps nothing for a signed-out browser, so the form travels in the pages:

1. A form posted with an expired session (its cookie still names it: the cookie outlives the
   session) whose CSRF token is that session's, from the console's own origin (the guard checks
   that first), is answered with the sign-in page (401) carrying what was typed in hidden
   fields (`carry.<name>`), the form's address (`resume`) and a seal: an HMAC of both and of the
   session's key. Never the CSRF token, a file or the key; ID numbers masked as every answer.
2. Signing in on that page with the same key shows the form's page as its own GET route renders
   it, with the new session, filled in with what was carried and a notice to check and submit.
   Nothing is applied: the state changes only when the person submits that form, with the new
   session's CSRF token.
3. Any other key signing in there (a colleague's, an auditor's), or a carried field changed on
   the way, breaks the seal: an ordinary sign-in, the carried text dropped. Nothing is stored on
   the server, so no later sign-in anywhere can see it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from service.console import access
from service.console import session as console
from service.console.answers import NEVER_SHOWN_BACK, Refusal, form_page
from service.console.return_to import NEXT

RESUME = "resume"
SEAL = "resume_seal"
PREFIX = "carry."
EXPIRED = "登录已超时，您填写的内容已保留：请重新登录，登录后核对并再次提交（尚未办理）。"
RESUMED = "已重新登录。下面是登录超时前您填写的内容，尚未办理：请核对后提交。"


def _seal(request: Request, key_id: int, resume: str, fields: dict[str, str]) -> str:
    root = request.app.state.settings.id_hash_key.get_secret_value().encode()
    secret = hmac.new(root, b"settlecheck console carried form v1", hashlib.sha256).digest()
    text = json.dumps([key_id, resume, sorted(fields.items())], ensure_ascii=False)
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def _resumable(request: Request, path: str) -> tuple[APIRoute, dict[str, Any]] | None:
    """The console form route posted to `path` and its path parameters, when it is a signed-in
    form with a page to show it (its CONSOLE_ACCESS entry's `form`)."""
    if not path.startswith("/console/"):
        return None
    scope = {**request.scope, "path": path, "method": "POST"}
    for route in request.app.router.routes:
        if not isinstance(route, APIRoute):
            continue
        match, child = route.matches(scope)
        if match is Match.FULL:
            rule = access.CONSOLE_ACCESS.get(("POST", route.path))
            if rule is None or rule.form is None or rule.roles is None:
                return None
            return route, child["path_params"]
    return None


async def sign_in_keeping(request: Request) -> Response | None:
    """The sign-in page carrying a form posted after its session expired (step 1 above), or
    None: the plain redirect to the sign-in page."""
    from service.console.views import page
    from service.idtext import redact

    if request.method in access.SAFE_METHODS:
        return None
    resume = request.url.path
    token = console.cookie_token(request)
    if not token or _resumable(request, resume) is None:
        return None
    async with request.app.state.sessionmaker() as session:
        key_id = await console.expired_key_id(session, token)
    if key_id is None:
        return None
    try:
        form = await request.form()  # parsed already, for the route
    except Exception:
        return None
    if not hmac.compare_digest(str(form.get("csrf", "")), console.csrf_of(request, token, key_id)):
        return None
    fields = {
        name: redact(value)
        for name, value in form.multi_items()
        if name not in NEVER_SHOWN_BACK and isinstance(value, str)
    }
    return page(
        "login.html",
        status_code=401,
        user=None,
        message=EXPIRED,
        carried=hidden_fields(resume, fields, _seal(request, key_id, resume, fields)),
    )


def hidden_fields(resume: str, fields: dict[str, str], seal: str) -> dict[str, str]:
    return {RESUME: resume, SEAL: seal, **{PREFIX + k: v for k, v in fields.items()}}


def carried_of(sent: Any) -> dict[str, str]:
    """The carried hidden fields of a posted sign-in form (or of what a refused one typed),
    with the page to return to (`next`, checked where it is used: service/console/return_to.py)."""
    return {
        name: value
        for name, value in sent.items()
        if isinstance(value, str) and (name in (RESUME, SEAL, NEXT) or name.startswith(PREFIX))
    }


def resumed(
    request: Request, *, key_id: int, carried: dict[str, str], token: str, landing: str
) -> Response | None:
    """The form's page for the key that just signed in (step 2), or None when nothing was
    carried for this key (step 3)."""
    resume, seal = carried.get(RESUME, ""), carried.get(SEAL, "")
    fields = {k.removeprefix(PREFIX): v for k, v in carried.items() if k.startswith(PREFIX)}
    if not resume or not hmac.compare_digest(seal, _seal(request, key_id, resume, fields)):
        return None
    found = _resumable(request, resume)
    if found is None:
        return None
    route, params = found
    rule = access.CONSOLE_ACCESS[("POST", route.path)]
    assert rule.form is not None
    return ResumedForm(request, rule.form, params, fields, token=token, landing=landing)


class ResumedForm(Response):
    """The sign-in's answer that shows the carried form's page. It is rendered when sent, after
    the sign-in's unit of work committed the new session, which the page's guard then reads;
    when that page cannot be shown (the finding is gone, the role may not open it) it is the
    sign-in's usual redirect to the landing page. The sign-in's cookie goes with either."""

    def __init__(
        self,
        request: Request,
        form: str,
        params: dict[str, Any],
        fields: dict[str, str],
        *,
        token: str,
        landing: str,
    ) -> None:
        super().__init__(status_code=200)
        self.request = Request({**request.scope, "path_params": params}, request.receive)
        self.form, self.fields, self.token, self.landing = form, fields, token, landing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = Refusal("", posted=self.fields, message=RESUMED)
        shown = await form_page(self.request, self.form, refusal, cookie=self.token)
        answer: Response = shown or RedirectResponse(self.landing, status_code=303)
        cookies = [(k, v) for k, v in self.raw_headers if k == b"set-cookie"]
        answer.raw_headers = [*answer.raw_headers, *cookies]
        await answer(scope, receive, send)
