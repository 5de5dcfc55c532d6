"""JSON logs with a request id, Prometheus metrics, and the request-size guard.

Pure ASGI middleware: BaseHTTPMiddleware would cost every request a task and a copy.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.idtext import holds_old_form, holds_resident_id
from service.security_headers import secure

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# A request id's own separators, which could part a resident ID number's digits.
_ID_SEPARATORS = str.maketrans("", "", "._-")
_HOLDS = (holds_resident_id, holds_old_form)
# The fewest digits any form of an ID number has (the old 15), parted by separators or not: a
# request id without such a run (a UUID, most trace ids) is let through on this one scan.
_FIFTEEN_DIGITS = re.compile(r"[0-9](?:[._-]*[0-9]){14}")
# Anything shaped like a resident ID number is masked in every log line, whatever logged it.
_ID_LIKE = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


# What every match of _ID_LIKE holds: tried first, as it is a plain scan, where _ID_LIKE's
# look-behind is tried at every position (most lines, the access line too, hold no such run).
_SEVENTEEN_DIGITS = re.compile(r"\d{17}")


def redact(text: str) -> str:
    if _SEVENTEEN_DIGITS.search(text) is None:
        return text
    return _ID_LIKE.sub(lambda m: m.group(1) + "********" + m.group(2)[-4:], text)


# json.dumps(entry, ensure_ascii=False, default=str) without building the encoder for every line
# (json.dumps reuses its own only for the default options).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    _second: int = -1
    _stamp: str = ""

    def _ts(self, record: logging.LogRecord) -> str:
        """formatTime(record, "%Y-%m-%dT%H:%M:%S") + milliseconds, the strftime once a second
        (every request writes an access line)."""
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._ts(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update({k: redact(v) if isinstance(v, str) else v for k, v in extra.items()})
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return _ENCODER.encode(entry)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The JSON lines name no thread or process: not looked up for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


def info(logger: logging.Logger, message: str, args: tuple[Any, ...], fields: Any) -> None:
    """`logger.info(message, *args, extra={"fields": fields})` with the record made directly:
    `info()` would walk the stack for a caller's file and line that the JSON line never shows
    (the access line, and the hot paths' own lines)."""
    if logger.isEnabledFor(logging.INFO):
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 0, message, args, None, extra={"fields": fields}
        )
        logger.handle(record)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "settlecheck_http_requests_total",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "settlecheck_http_request_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.registry_calls = Counter(
            "settlecheck_registry_calls_total",
            "Upstream poverty-registry lookups by outcome",
            ["outcome"],
            registry=self.registry,
        )


def _carries_resident_id(request_id: str) -> bool:
    """Whether a caller's request id holds a resident ID number: it is written unmasked into
    every log line of the request, so one that does is replaced. Found as prose finds one (a
    letter next to it, its 17 digits without the check character, the old 15-digit form), also
    parted by the separators a request id may hold (`110101.19900307.1233`)."""
    if _FIFTEEN_DIGITS.search(request_id) is None:
        return False
    if _ID_LIKE.search(request_id):
        return True
    joined = request_id.translate(_ID_SEPARATORS)
    return any(holds(text) for text in (request_id, joined) for holds in _HOLDS)


access_log = logging.getLogger("settlecheck.access")
_QUIET_ROUTES = frozenset({"/healthz", "/metrics"})


class RequestContextMiddleware:
    """Request id in and out, an access log line, metrics by route template (never the raw path,
    which may hold an ID number), and the security headers (service/security_headers.py)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, *, https_only: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        safe = _SAFE_REQUEST_ID.match(incoming) and not _carries_resident_id(incoming)
        rid = incoming if safe else uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = secure(
                    [*message["headers"], (b"x-request-id", rid.encode())],
                    https_only=self.https_only,
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path_format", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if route not in _QUIET_ROUTES:
                fields = {"status": status, "ms": round(elapsed * 1000, 2)}
                info(access_log, "%s %s %s", (method, route, status), fields)
            request_id_var.reset(token)


# The answer a request over the limit gets instead of problem+json, where one is due (the
# console's page, for a person's browser: service/console/unrouted.py); None: problem+json.
TooLargePage = Callable[[Scope, int], Response | None]


# The answer instead of the 413 when counting the refusal against the request's key took the
# key past its limit (service.errors.too_large_limited, ADR 0006); None: the 413.
TooLargeCounted = Callable[[Scope], Awaitable[Response | None]]


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit, by Content-Length up front or by counting a stream."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        page: TooLargePage | None = None,
        counted: TooLargeCounted | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.page = page
        self.counted = counted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limited = await self.counted(scope) if self.counted is not None else None
        if limited is not None:
            await limited(scope, receive, send)
            return
        page = self.page(scope, self.max_bytes) if self.page is not None else None
        if page is not None:
            await page(scope, receive, send)
            return
        body = json.dumps(
            {
                "type": "urn:settlecheck:problem:payload_too_large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"request bodies are limited to {self.max_bytes} bytes",
                "code": "payload_too_large",
                "instance": scope.get("path"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(BaseException):  # noqa: N818
    """Not an Exception: FastAPI turns any Exception raised while reading a body into a 400,
    and this one must reach BodySizeLimitMiddleware to become a 413."""
