"""What an idempotent write answers (ADR 0030): the entry it stored, and whether this request
was a replay of the one that stored it. Every idempotent POST's service returns one; the
interfaces answer it (`routers.replays.answer_recorded`, NHSA's `replayed`, FHIR's header)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T", covariant=True)


@dataclass(frozen=True, slots=True)
class Recorded(Generic[T]):
    entry: T
    replayed: bool  # True: nothing was written; `entry` is what the first request stored
