"""Liveness and readiness (the only routes without a key) and metrics (admin or scrape token)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.auth.scrape import require_metrics_reader
from service.db import ping
from service.errors import problem_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(coro: Any, timeout: float) -> str:
    try:
        ok = await asyncio.wait_for(coro, timeout)
    except Exception:
        return "down"
    return "up" if ok in (None, True) else "down"


@router.get("/readyz", summary="Dependencies reachable: database, cache, registry")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    settings = state.settings
    checks = {
        "database": await _check(ping(state.engine), settings.database_timeout_seconds),
        "cache": await _check(state.cache.ping(), settings.redis_timeout_seconds * 4),
    }
    registry = getattr(state, "registry", None)
    if registry is not None:
        checks["registry"] = await _check(registry.ping(), settings.registry_total_deadline_seconds)
    # Only the database is essential: without the cache we are slower, without the registry
    # the roster snapshot answers. Either one down is "degraded", still ready.
    ready = checks["database"] == "up"
    status = "ok" if all(v == "up" for v in checks.values()) else ("degraded" if ready else "down")
    body = {"status": status, "checks": checks, "cache_backend": state.cache.backend}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (an admin key, or the scrape token as a bearer token)",
    response_class=Response,
    responses=problem_responses(401, 403),
    dependencies=[Depends(require_metrics_reader)],
)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
