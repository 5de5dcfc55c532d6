"""HEAD is answered as GET without the body (RFC 9110 §9.3.2), on every GET route at once.

FastAPI's routes answer only the methods they declare, so a HEAD (a load balancer's or an
uptime checker's probe of /healthz, a link checker on a console page, `curl -I`) was a 405 on
every route. Declaring HEAD beside each GET would add an operation per route to the OpenAPI
document (and to what schemathesis walks); instead the request goes on as the same GET:
the same guard, query check, rate limit and answer, status and headers (Content-Length is the
GET's, as §9.3.2 allows), and the body dropped here. A route without GET is a 405 to HEAD, as
it is to GET. Only the inner scope says GET: the access log, the metrics and the server (which
drops a HEAD's body itself, uvicorn included) still see the HEAD.

A 405's `Allow` names every method the address takes (`allowed_methods`), HEAD wherever GET
is: Starlette's names only the first route on the path (POST for /v1/keys, which also lists).
"""

from __future__ import annotations

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(scope: Scope) -> str:
    """The `Allow` of a 405 to this request (RFC 9110 §15.5.6): the methods of every route
    whose path it matches, and HEAD wherever GET is (HeadAsGet answers it)."""
    methods: set[str] = set()
    for route in scope["app"].router.routes:
        if isinstance(route, Route) and route.methods:
            if route.matches(scope)[0] is not Match.NONE:
                methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        inner = {**scope, "method": "GET"}

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(inner, receive, bodiless)
        finally:
            # What routing found (the matched route, for the metrics and the access log).
            scope.update({k: v for k, v in inner.items() if k != "method"})
