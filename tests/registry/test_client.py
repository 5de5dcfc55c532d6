"""The registry client at its boundary: every failure is translated, none is an answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from service.registry import (
    CircuitBreaker,
    RegistryBadResponse,
    RegistryCircuitOpen,
    RegistryClient,
    RegistryNotConfigured,
    RegistryRejected,
    RegistryTimeout,
    RegistryUnreachable,
)
from tests import factories

BASE = "http://registry.test"
ID = factories.resident_id(seq=601)
PATH = f"/v1/persons/{ID}"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(clock: Clock) -> AsyncIterator[RegistryClient]:
    async with httpx.AsyncClient(base_url=BASE) as http:
        yield RegistryClient(
            http,
            deadline_seconds=0.2,
            retries=1,
            breaker=CircuitBreaker(failure_threshold=2, reset_seconds=30, clock=clock),
            jitter=lambda: 0.0,
        )


@pytest.fixture
def registry() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


async def test_a_registered_person(client: RegistryClient, registry: respx.MockRouter) -> None:
    registry.get(PATH).respond(200, json=factories.registry_person("destitute", deceased=True))
    record = await client.lookup(ID)
    assert record is not None
    assert [c.code for c in record.categories] == ["destitute"]
    assert record.deceased is True
    assert record.family_doctor is not None


async def test_a_documented_404_means_not_registered(
    client: RegistryClient, registry: respx.MockRouter
) -> None:
    registry.get(PATH).respond(404, json={"code": "not_registered"})
    assert await client.lookup(ID) is None


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(404, text="Not Found"),
        httpx.Response(404, json={"detail": "Not Found"}),
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, content=b"{", headers={"content-type": "application/json"}),
        httpx.Response(200, json={"insured_county": "99", "categories": []}),
        httpx.Response(200, json={"insured_county": "990102", "categories": [{"code": "x"}]}),
        httpx.Response(200, json=[]),
    ],
)
async def test_malformed_bodies_are_failures_not_answers(
    client: RegistryClient, registry: respx.MockRouter, response: httpx.Response
) -> None:
    route = registry.get(PATH).mock(return_value=response)
    with pytest.raises(RegistryBadResponse):
        await client.lookup(ID)
    assert route.call_count == 2  # retried once: a technical failure


async def test_5xx_is_retried_then_answers(
    client: RegistryClient, registry: respx.MockRouter
) -> None:
    route = registry.get(PATH)
    route.side_effect = [httpx.Response(503), httpx.Response(200, json=factories.registry_person())]
    assert await client.lookup(ID) is not None
    assert route.call_count == 2


async def test_retries_are_bounded(client: RegistryClient, registry: respx.MockRouter) -> None:
    route = registry.get(PATH).respond(500)
    with pytest.raises(RegistryBadResponse) as caught:
        await client.lookup(ID)
    assert route.call_count == 2
    assert ID not in caught.value.detail


async def test_a_4xx_is_a_logical_refusal_not_retried_and_not_a_breaker_failure(
    client: RegistryClient, registry: respx.MockRouter
) -> None:
    route = registry.get(PATH).respond(400, json={"code": "invalid_id_number"})
    for _ in range(3):
        with pytest.raises(RegistryRejected):
            await client.lookup(ID)
    assert route.call_count == 3
    assert client.breaker.state == "closed"


class _Drip(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b" "
            await asyncio.sleep(0.05)  # each read is quick: only a total deadline stops this


async def test_a_dripping_registry_hits_the_total_deadline(
    client: RegistryClient, registry: respx.MockRouter
) -> None:
    registry.get(PATH).mock(
        return_value=httpx.Response(
            200, headers={"content-type": "application/json"}, stream=_Drip()
        )
    )
    started = asyncio.get_running_loop().time()
    with pytest.raises(RegistryTimeout) as caught:
        await client.lookup(ID)
    assert asyncio.get_running_loop().time() - started < 0.5
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_connection_refused_is_unreachable(
    client: RegistryClient, registry: respx.MockRouter
) -> None:
    registry.get(PATH).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(RegistryUnreachable) as caught:
        await client.lookup(ID)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_the_breaker_opens_then_half_opens_after_the_reset(
    client: RegistryClient, registry: respx.MockRouter, clock: Clock
) -> None:
    route = registry.get(PATH)
    route.side_effect = [httpx.Response(503)] * 4 + [
        httpx.Response(200, json=factories.registry_person())
    ]
    for _ in range(2):
        with pytest.raises(RegistryBadResponse):
            await client.lookup(ID)
    assert client.breaker.state == "open"
    with pytest.raises(RegistryCircuitOpen):
        await client.lookup(ID)
    assert route.call_count == 4  # the open breaker made no call
    clock.now += 31
    assert client.breaker.state == "half_open"
    assert await client.lookup(ID) is not None
    assert client.breaker.state == "closed"


async def test_a_failed_trial_opens_the_breaker_again(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=10, clock=clock)
    breaker.record_failure()
    clock.now = 11
    assert breaker.allow() is True
    assert breaker.allow() is False  # one trial at a time
    breaker.record_failure()
    assert breaker.state == "open"


async def test_unconfigured_registry_never_calls_out() -> None:
    async with httpx.AsyncClient(base_url="http://registry.invalid") as http:
        client = RegistryClient(
            http,
            configured=False,
            deadline_seconds=1,
            retries=0,
            breaker=CircuitBreaker(failure_threshold=1, reset_seconds=1),
        )
        with pytest.raises(RegistryNotConfigured):
            await client.lookup(ID)
        assert await client.ping() is False


async def test_ping(client: RegistryClient, registry: respx.MockRouter) -> None:
    registry.get("/healthz").respond(200, json={"status": "ok"})
    assert await client.ping() is True


class _Flood(httpx.AsyncByteStream):
    """A valid record padded with whitespace to 8 MB, sent in 64 kB pieces, without a length."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(128):
            self.sent += 1
            yield b" " * 65_536
        yield json.dumps(factories.registry_person("destitute")).encode()


@pytest.mark.parametrize("declared", [True, False])
async def test_an_answer_far_longer_than_a_record_is_a_failure_read_no_further(
    client: RegistryClient, registry: respx.MockRouter, declared: bool
) -> None:
    # Read whole, an 800 MB answer grew a worker by 350 MB within the deadline.
    flood = _Flood()
    headers = {"content-type": "application/json"}
    if declared:
        headers["content-length"] = str(128 * 65_536 + 200)
    registry.get(PATH).mock(return_value=httpx.Response(200, headers=headers, stream=flood))
    with pytest.raises(RegistryBadResponse):
        await client.lookup(ID)
    assert flood.sent < 8  # the first pieces only, on each of the two tries
