"""The application factory and its lifespan: everything that connects is built here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from service.admissions.service import AdmissionContext
from service.auth.deps import KeyCache
from service.cache import create_cache
from service.console.unrouted import answer_unrouted, too_large_counted, too_large_page
from service.dates import DateWindow
from service.db import create_engine, create_sessionmaker
from service.errors import install_error_handlers, problems_in_openapi
from service.head import HeadAsGet
from service.identity import IdHasher
from service.json_body import refuse_duplicate_keys
from service.observability import (
    BodySizeLimitMiddleware,
    Metrics,
    RequestContextMiddleware,
    configure_logging,
)
from service.openapi_examples import with_examples
from service.persons.recent import RecentAnswers
from service.persons.service import Lookup
from service.policy_versions.catalog import PolicyCatalog
from service.ratelimit import KeyRateLimiter
from service.regions.directory import HospitalDirectory
from service.registry import build_registry_client
from service.routers import mount_routes
from service.settings import Settings, load_settings
from service.strict_query import guard_v1

log = logging.getLogger("settlecheck")


def registry_http_client(settings: Settings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=settings.registry_connect_timeout_seconds,
        read=settings.registry_read_timeout_seconds,
        write=settings.registry_read_timeout_seconds,
        pool=settings.registry_connect_timeout_seconds,
    )
    headers = {"user-agent": "settlecheck/0.1"}
    if settings.registry_token is not None:
        headers["authorization"] = f"Bearer {settings.registry_token.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=str(settings.registry_url or "http://registry.invalid"),
        timeout=timeout,
        headers=headers,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.cache = create_cache(
        settings.redis_url, timeout_seconds=settings.redis_timeout_seconds
    )
    app.state.registry_http = registry_http_client(settings)
    app.state.registry = build_registry_client(app.state.registry_http, settings)
    app.state.rate_limiter = KeyRateLimiter(
        app.state.cache, per_minute=settings.rate_limit_per_minute
    )
    app.state.admission_context = AdmissionContext(
        lookup=Lookup(
            registry=app.state.registry,
            cache=app.state.cache,
            ttl_seconds=settings.cache_ttl_seconds,
            recent=RecentAnswers(ttl_seconds=settings.cache_ttl_seconds),
        ),
        catalog=app.state.policies,
        hospitals=app.state.hospitals,
        hasher=app.state.id_hasher,
        window=DateWindow.of(settings),
    )
    from service.startup import freeze_startup_objects, on_startup

    try:
        await on_startup(app)
        if settings.gc_freeze:
            freeze_startup_objects()
        yield
    finally:
        await app.state.registry_http.aclose()
        await app.state.cache.close()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="settlecheck",
        version="0.1.0",
        summary="Health-poverty eligibility, one-stop settlement and the violation ledger",
        description=(
            "Called by hospital information systems at admission and discharge for patients "
            "covered by the health-poverty programmes (健康扶贫 / 农村低收入人口医疗保障), and by "
            "auditors working the violation ledger (问题台账). Every error is RFC 9457 "
            "problem+json with a stable `code`; a body field or query parameter an operation "
            "does not declare is refused (422 `extra_forbidden`), never ignored. Send your key "
            "in `X-API-Key`."
        ),
        lifespan=lifespan,
        # /openapi.json, /docs and /redoc are served by service/routers/docs.py: the pages'
        # assets from the package (they work offline), each a route the access log can name.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.key_cache = KeyCache(settings.auth_cache_seconds)
    app.state.policies = PolicyCatalog()
    app.state.hospitals = HospitalDirectory()
    app.state.id_hasher = IdHasher(settings.id_hash_key.get_secret_value().encode())
    install_error_handlers(app)
    answer_unrouted(app)
    mount_routes(app)
    # Inside the /v1 guard (query parameters, media type: ADR 0024), the outermost and cheapest.
    refuse_duplicate_keys(app)
    guard_v1(app)
    problems_in_openapi(app)
    with_examples(app)
    app.add_middleware(HeadAsGet)  # innermost: the access log and metrics still say HEAD
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        page=too_large_page,
        counted=too_large_counted,
    )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        https_only=settings.https_only,
    )
    return app
