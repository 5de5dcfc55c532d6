"""The process's recent answers: never older than the shared cache's TTL, bounded, answers only."""

from __future__ import annotations

from datetime import timedelta

from service.base import utcnow
from service.persons.person_status import PersonStatus, Source
from service.persons.recent import RecentAnswers


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
