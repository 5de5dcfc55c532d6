"""What a status lookup answers: where the answer came from, and what it says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.registry.schemas import PersonRecord


class Source(StrEnum):
    REGISTRY = "registry"
    CACHE = "cache"
    SNAPSHOT = "snapshot"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PersonStatus:
    source: Source
    registered: bool | None  # None: unknown
    record: PersonRecord | None = None
    answered_at: datetime | None = None  # when the registry or the snapshot said it
    snapshot_taken_at: datetime | None = None
    registry_problem: str | None = None  # why the registry did not answer
    unknown_reason: str | None = None
    unknown_code: str | None = None  # a stable code for the reason, e.g. NOT_IN_SNAPSHOT

    @property
    def known(self) -> bool:
        return self.registered is not None

    def snapshot_age_seconds(self, now: datetime) -> int | None:
        if self.snapshot_taken_at is None:
            return None
        return max(0, int((now - self.snapshot_taken_at).total_seconds()))
