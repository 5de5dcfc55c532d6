"""Resolving a person's status. Only the registry can say "not registered"; the snapshot can
only confirm (persons/snapshot.py). When neither answers, the status is `unknown` and says why.

Cache entries are keyed by person_key (an HMAC), never by the ID number, and only answers are
cached: a registry failure is never stored. An answer is kept for the cache's TTL, and never
past the end of the China day the registry gave it on (`recent.good_until`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.base import utcnow
from service.cache import Cache
from service.identity import IdHasher, mask_resident_id
from service.persons.person_status import PersonStatus, Source
from service.persons.recent import RecentAnswers, good_until
from service.persons.snapshot import status_from_snapshot
from service.registry.client import RegistryClient
from service.registry.errors import RegistryError
from service.registry.schemas import PersonRecord
from service.roster.service import find_in_snapshot

log = logging.getLogger("settlecheck.persons")
CACHE_PREFIX = "person-status:v1:"


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a status lookup needs from the app: the registry, the shared cache and its TTL,
    and the answers this process decoded lately (kept no longer than that TTL)."""

    registry: RegistryClient
    cache: Cache
    ttl_seconds: float
    recent: RecentAnswers


async def resolve_status(
    session: AsyncSession,
    *,
    lookup: Lookup,
    id_number: str,
    person_key: str,
    insured_county: str | None = None,
) -> PersonStatus:
    """`insured_county`, when the caller reported one, lets an answer from the roster snapshot
    say whether the snapshot covers that county at all."""
    recent = lookup.recent.get(person_key)
    if recent is not None:
        return recent
    cached = await _from_cache(lookup.cache, person_key)
    if cached is not None:
        lookup.recent.put(person_key, cached)
        return cached
    try:
        record = await lookup.registry.lookup(id_number)
    except RegistryError as exc:
        log.warning("registry did not answer (%s); trying the snapshot", exc.code)
        return await _from_snapshot(
            session, person_key=person_key, problem=exc.code, insured_county=insured_county
        )
    answered_at = utcnow()
    status = PersonStatus(
        source=Source.REGISTRY,
        registered=record is not None,
        record=record,
        answered_at=answered_at,
    )
    keep = good_until(answered_at, lookup.ttl_seconds) - answered_at.timestamp()
    if keep >= 1:  # a second to midnight is not worth a round trip (Redis counts milliseconds)
        await lookup.cache.set(CACHE_PREFIX + person_key, _encode(status), keep)
    lookup.recent.put(person_key, status)
    return status


def recalled(lookup: Lookup, hasher: IdHasher, typed: str) -> tuple[str, PersonStatus] | None:
    """The masked form and the answer this process holds for an ID number typed in its
    normalised form, without checking the number again (the checks and the normalisation cost
    a warm status check more than the rest of its own work, ADR 0020).

    Sound because the recent answers are keyed only by the keyed hash of numbers that passed
    `identify`: a typed string with the same HMAC-SHA256 is that very number, checked when its
    answer was stored, and a number that was valid stays valid (its birth date stays in the
    past). Any other form (15 digits, full-width, a lower-case x, spaces), a number not seen
    lately, or an invalid one, gets None and the whole check. Nothing new is kept: not the
    number, only the key the answers already had."""
    key = hasher.key_of(typed)
    status = lookup.recent.get(key)
    if status is None:
        return None
    return mask_resident_id(typed), status


async def _from_snapshot(
    session: AsyncSession, *, person_key: str, problem: str, insured_county: str | None
) -> PersonStatus:
    answer = await find_in_snapshot(session, person_key)
    if answer is None:
        return PersonStatus(
            source=Source.UNKNOWN,
            registered=None,
            registry_problem=problem,
            unknown_reason=f"the registry did not answer ({problem}) and no roster snapshot "
            "is loaded",
        )
    return status_from_snapshot(answer, problem=problem, insured_county=insured_county)


def _encode(status: PersonStatus) -> bytes:
    payload: dict[str, Any] = {
        "registered": status.registered,
        "answered_at": status.answered_at.isoformat() if status.answered_at else None,
        "record": status.record.model_dump(mode="json") if status.record else None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def _from_cache(cache: Cache, person_key: str) -> PersonStatus | None:
    raw = await cache.get(CACHE_PREFIX + person_key)
    if raw is None:
        return None
    try:
        payload = json.loads(raw)
        record = PersonRecord.model_validate(payload["record"]) if payload["record"] else None
        answered_at = datetime.fromisoformat(payload["answered_at"]).astimezone(UTC)
        registered = bool(payload["registered"])
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable cache entry ignored")
        return None
    if good_until(answered_at, float("inf")) <= utcnow().timestamp():
        return None  # given on an earlier China day (by another replica, or kept longer)
    return PersonStatus(
        source=Source.CACHE, registered=registered, record=record, answered_at=answered_at
    )
