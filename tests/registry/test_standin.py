"""The stand-in registry speaks docs/registry-api.md, and the client understands it."""

from __future__ import annotations

import httpx

from service.registry import CircuitBreaker, RegistryClient, RegistryRejected
from service.registry.standin import create_standin_app, records_of
from service.roster.demo import demo_people, unknown_person


async def test_the_client_reads_the_standin() -> None:
    people = demo_people(20)
    app = create_standin_app(records_of(people))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://standin") as http:
        client = RegistryClient(
            http,
            deadline_seconds=2,
            retries=0,
            breaker=CircuitBreaker(failure_threshold=3, reset_seconds=1),
        )
        record = await client.lookup(people[1].id_number)
        assert record is not None
        assert [c.code for c in record.categories] == ["registered_poor", "lifted_out"]
        assert await client.lookup(unknown_person()) is None
        assert await client.ping() is True
        try:
            await client.lookup("123")
        except RegistryRejected:
            pass
        else:
            raise AssertionError("an invalid number is refused")
