"""A newly issued API key's token, handed from the form that issued it to the page that shows it,
and the form's one-time token, so that a form issues one key however often it is posted.

The form answers with a redirect (Post/Redirect/Get), so a reload of the page that shows the
token asks for the page again and issues nothing. The token crosses the redirect in a cookie
of its own, not in the address (which browsers keep in their history and send on in
`Referer`): HttpOnly, SameSite=Strict, sent only to the keys page and only for a minute. The
page shows the key it names and deletes the cookie in the same answer, so the token is shown
once; a reload finds no cookie. Only the token's hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.keys import IssuedKey, key_of_token, principal_of

FORM_TOKEN = "^[0-9a-f]{32}$"  # a form's one-time token, as form_token() makes it
COOKIE = "settlecheck_issued_key"
PATH = "/console/keys"
# Long enough for the browser to follow the redirect; a token left behind by a redirect never
# followed does not outlive it by much.
LIFETIME_SECONDS = 60


def form_token() -> str:
    """A new one-time token for the issuing form, rendered with each keys page. The key it
    issues keeps it (api_keys.issue_form, unique): the form posted twice (a double click)
    issues one key; a new page, a new form."""
    return secrets.token_hex(16)


def hand_over(response: Response, issued: IssuedKey, *, secure: bool) -> None:
    """Send the token with the redirect to the page that shows it."""
    response.set_cookie(
        COOKIE,
        issued.token,
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path=PATH,
    )


async def handed_over(request: Request, session: AsyncSession) -> IssuedKey | None:
    """The key whose token the redirect carried, if it is one: the token must match a key
    that is still valid (a stale or forged cookie shows nothing)."""
    token = request.cookies.get(COOKIE)
    if token is None or (key := await key_of_token(session, token)) is None or key.id is None:
        return None
    return IssuedKey(id=key.id, token=token, principal=principal_of(key), record=key)


def shown(request: Request, response: Response, *, secure: bool) -> None:
    """The page has shown the token: the browser forgets it."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=PATH, secure=secure, httponly=True, samesite="strict")
