"""Every router the app mounts, in the order they appear in the OpenAPI document."""

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from service.routers import (
    admissions,
    clearing,
    console,
    console_admin,
    console_money,
    console_verify,
    console_yearend,
    docs,
    fhir,
    health,
    hospitals,
    indicators,
    keys,
    nhsa,
    persons,
    policies,
    receivables,
    regions,
    settlements,
    violations,
    whatif,
    yearend,
)

ROUTERS: list[APIRouter] = [
    health.router,
    docs.router,
    keys.router,
    regions.router,
    hospitals.router,
    admissions.router,
    persons.router,
    whatif.router,
    policies.router,
    settlements.router,
    violations.router,
    indicators.router,
    clearing.router,
    receivables.router,
    yearend.router,
    console.router,
    console_admin.router,
    console_verify.router,
    console_yearend.router,
    nhsa.router,
    fhir.router,
    console_money.router,
]


def mount_routes(app: FastAPI) -> None:
    """Put every route straight on the app, as one flat list.

    `app.include_router` wraps each router, and this FastAPI walks every wrapper's routes, with
    bookkeeping, on each request: 76 µs to reach the last of our 42 routes, against 46 µs for a
    flat list (docs/benchmarks.md). Our routers carry their prefix, tags and dependencies on
    their routes already, so the wrappers add nothing but that cost.
    """
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
    _hot_routes_first(app)


# The calls a hospital system makes all day, and the probes'. Starlette tries routes in
# order, a regex each: these first (their paths overlap no other route's), the rest as
# documented.
HOT_ROUTES = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/v1/persons/{id_number}/status"),
        ("POST", "/v1/settlements"),
        ("POST", "/v1/admissions"),
    }
)


def _is_hot(route: Any) -> bool:
    methods = route.methods if isinstance(route, APIRoute) else None
    return any((m, route.path) in HOT_ROUTES for m in methods or ())


def _hot_routes_first(app: FastAPI) -> None:
    """Match the hot routes first (status was the 15th route, settlement the 21st: ~100 Python
    calls per request to reach them, ADR 0020); the OpenAPI document keeps ROUTERS' order."""
    routes = app.router.routes
    documented = list(dict.fromkeys(r.path_format for r in routes if isinstance(r, APIRoute)))
    hot = [r for r in routes if _is_hot(r)]
    routes[:] = hot + [r for r in routes if not _is_hot(r)]
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            paths = schema.get("paths", {})
            schema["paths"] = {path: paths[path] for path in documented if path in paths}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
