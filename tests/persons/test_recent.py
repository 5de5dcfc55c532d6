"""The process's recent answers: never older than the shared cache's TTL nor from an earlier China
day, bounded, answers only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from service.base import utcnow
from service.cache import MemoryCache
from service.persons.person_status import PersonStatus, Source
from service.persons.recent import RecentAnswers
from service.persons.service import Lookup, resolve_status
from service.registry.schemas import PersonRecord
from tests.factories import registry_person, resident_id


def answer(age_seconds: float = 0) -> PersonStatus:
    return PersonStatus(
        source=Source.REGISTRY,
        registered=False,
        answered_at=utcnow() - timedelta(seconds=age_seconds),
    )


def test_a_fresh_answer_is_kept_and_marked_as_from_the_cache() -> None:
    recent = RecentAnswers(ttl_seconds=300)
    recent.put("p1", answer())
    kept = recent.get("p1")
    assert kept is not None
    assert kept.source is Source.CACHE
    assert kept.registered is False


def test_an_answer_is_not_kept_past_the_ttl_counted_from_when_the_registry_gave_it() -> None:
    recent = RecentAnswers(ttl_seconds=300)
    recent.put("old", answer(age_seconds=301))
    recent.put("nearly", answer(age_seconds=299.5))
    assert recent.get("old") is None
    assert recent.get("nearly") is not None


def test_nothing_is_kept_when_caching_is_off_or_the_answer_has_no_time() -> None:
    off = RecentAnswers(ttl_seconds=0)
    off.put("p1", answer())
    assert off.get("p1") is None
    unknown = PersonStatus(source=Source.UNKNOWN, registered=None, unknown_reason="no registry")
    on = RecentAnswers(ttl_seconds=300)
    on.put("p2", unknown)
    assert on.get("p2") is None


def test_the_least_recently_used_answer_goes_first_when_full() -> None:
    recent = RecentAnswers(ttl_seconds=300, max_entries=2)
    recent.put("a", answer())
    recent.put("b", answer())
    assert recent.get("a") is not None  # a is now the most recently used
    recent.put("c", answer())
    assert recent.get("b") is None
    assert recent.get("a") is not None
    assert recent.get("c") is not None


# 23:59:50 and 00:00:10 in China on either side of a midnight, as UTC instants.
BEFORE_MIDNIGHT = datetime(2026, 12, 31, 15, 59, 50, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 12, 31, 16, 0, 10, tzinfo=UTC)


def test_an_answer_is_not_kept_into_the_next_china_day_within_the_ttl() -> None:
    """The registry answered for the day it was asked on: a category granted to 31 December
    may be renewed at midnight, which the answer cannot say."""
    recent = RecentAnswers(ttl_seconds=300)
    with time_machine.travel(BEFORE_MIDNIGHT, tick=False) as clock:
        recent.put("p1", answer())
        assert recent.get("p1") is not None
        clock.move_to(AFTER_MIDNIGHT)
        assert recent.get("p1") is None


class _CountingRegistry:
    def __init__(self) -> None:
        self.asked = 0

    async def lookup(self, id_number: str) -> PersonRecord | None:
        self.asked += 1
        return PersonRecord.model_validate(registry_person())


async def test_the_shared_cache_does_not_answer_on_the_next_china_day() -> None:
    """Two replicas share the cache: the second, asked after midnight, asks the registry again
    rather than take the first's answer of the day before (still within the TTL)."""
    registry, shared = _CountingRegistry(), MemoryCache()

    def replica() -> Lookup:
        return Lookup(
            registry=registry,  # type: ignore[arg-type]
            cache=shared,
            ttl_seconds=300,
            recent=RecentAnswers(ttl_seconds=300),
        )

    first, second, third = replica(), replica(), replica()
    with time_machine.travel(BEFORE_MIDNIGHT, tick=False) as clock:
        ask = {"id_number": resident_id(seq=71), "person_key": "k71"}
        await resolve_status(None, lookup=first, **ask)  # type: ignore[arg-type]
        same_day = await resolve_status(None, lookup=second, **ask)  # type: ignore[arg-type]
        assert (same_day.source, registry.asked) == (Source.CACHE, 1)
        clock.move_to(AFTER_MIDNIGHT)
        next_day = await resolve_status(None, lookup=third, **ask)  # type: ignore[arg-type]
        assert (next_day.source, registry.asked) == (Source.REGISTRY, 2)
