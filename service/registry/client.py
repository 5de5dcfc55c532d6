"""The registry client: one GET per lookup, under a hard total deadline, with bounded retries
(full jitter) on technical failures only, behind a circuit breaker.

httpx timeouts are per connect/read: a registry dripping one byte a second never trips them,
so the whole lookup, retries and back-off included, runs under `asyncio.timeout(deadline)`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import ValidationError

from service.registry.breaker import CircuitBreaker
from service.registry.errors import (
    RegistryBadResponse,
    RegistryCircuitOpen,
    RegistryNotConfigured,
    RegistryRejected,
    RegistryTimeout,
    RegistryUnavailable,
    RegistryUnreachable,
)
from service.registry.schemas import NotRegisteredBody, PersonRecord
from service.settings import Settings

log = logging.getLogger("settlecheck.registry")
MAX_BODY_BYTES = 64 * 1024  # a record with dozens of categories and cards is a few kB
_Body = TypeVar("_Body", PersonRecord, NotRegisteredBody)


class RegistryClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        configured: bool = True,
        deadline_seconds: float,
        retries: int,
        breaker: CircuitBreaker,
        backoff_seconds: float = 0.05,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.http = http
        self.configured = configured
        self.deadline_seconds = deadline_seconds
        self.retries = retries
        self.breaker = breaker
        self.backoff_seconds = backoff_seconds
        self._jitter = jitter

    async def lookup(self, id_number: str) -> PersonRecord | None:
        """The person's record, or None when the registry says they are not registered.

        Raises a RegistryUnavailable (technical) or RegistryRejected (logical), never returns
        a guess.
        """
        if not self.configured:
            raise RegistryNotConfigured("no registry is configured (SETTLECHECK_REGISTRY_URL)")
        if not self.breaker.allow():
            raise RegistryCircuitOpen("the registry failed repeatedly; calls are paused")
        try:
            async with asyncio.timeout(self.deadline_seconds):
                record = await self._with_retries(id_number)
        except TimeoutError as e:
            self.breaker.record_failure()
            raise RegistryTimeout(
                f"the registry did not answer within {self.deadline_seconds:g}s"
            ) from e
        except RegistryUnavailable:
            self.breaker.record_failure()
            raise
        except RegistryRejected:
            self.breaker.record_success()  # it answered: the registry itself is healthy
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return record

    async def _with_retries(self, id_number: str) -> PersonRecord | None:
        attempt = 0
        while True:
            try:
                return await self._get_once(id_number)
            except RegistryUnavailable as exc:
                if attempt >= self.retries:
                    raise
                delay = self.backoff_seconds * (2**attempt) * self._jitter()
                log.info("registry %s, retry %d in %.3fs", exc.code, attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _get_once(self, id_number: str) -> PersonRecord | None:
        try:
            async with self.http.stream("GET", f"/v1/persons/{id_number}") as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise RegistryBadResponse(f"the registry answered HTTP {response.status_code}")
                if response.status_code not in (200, 404):
                    raise RegistryRejected(
                        f"the registry refused the lookup (HTTP {response.status_code})"
                    )
                content = await _bounded_body(response)
        except httpx.TimeoutException as e:
            raise RegistryTimeout("the registry timed out") from e
        except httpx.TransportError as e:
            raise RegistryUnreachable(f"the registry is unreachable ({type(e).__name__})") from e
        if response.status_code == 404:
            _parse(response, content, NotRegisteredBody)
            return None
        return _parse(response, content, PersonRecord)

    async def ping(self) -> bool:
        """For /readyz: is the registry answering its health check? Never raises."""
        if not self.configured:
            return False
        try:
            async with asyncio.timeout(self.deadline_seconds):
                response = await self.http.get("/healthz")
        except (TimeoutError, httpx.HTTPError):
            return False
        return response.status_code == 200


async def _bounded_body(response: httpx.Response) -> bytes:
    """The body, read no further than MAX_BODY_BYTES. One person's record is a few hundred
    bytes; read whole, an 800 MB answer (a misbehaving proxy, a dump) grew a worker by 350 MB
    within the deadline, and every lookup at once would each have done the same."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RegistryBadResponse(f"the registry's answer is longer than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RegistryBadResponse(
                f"the registry's answer is longer than {MAX_BODY_BYTES} bytes"
            )
    return bytes(body)


def _parse(response: httpx.Response, content: bytes, model: type[_Body]) -> _Body:
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise RegistryBadResponse(
            f"the registry answered HTTP {response.status_code} without a JSON body"
        )
    try:
        return model.model_validate(json.loads(content))
    except (ValueError, ValidationError) as e:
        raise RegistryBadResponse(
            f"the registry's HTTP {response.status_code} body is not a valid {model.__name__}"
        ) from e


def build_registry_client(http: httpx.AsyncClient, settings: Settings) -> RegistryClient:
    return RegistryClient(
        http,
        configured=settings.registry_url is not None,
        deadline_seconds=settings.registry_total_deadline_seconds,
        retries=settings.registry_retries,
        breaker=CircuitBreaker(
            failure_threshold=settings.registry_breaker_failures,
            reset_seconds=settings.registry_breaker_reset_seconds,
        ),
    )
