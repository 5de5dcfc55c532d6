"""In-memory stand-ins for what admission and settlement read besides their stores: the policy
catalog, the hospital directory and the upstream registry."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from service.admissions.service import AdmissionContext
from service.cache import MemoryCache
from service.dates import DateWindow
from service.identity import IdHasher
from service.persons.recent import RecentAnswers
from service.persons.service import Lookup
from service.policy import CompiledPolicy, select_policy
from service.policy_versions.errors import NoPolicyInForce
from service.policy_versions.service import compile_all
from service.policy_versions.shipped import shipped_policy_texts
from service.regions.directory import HospitalRef
from service.regions.models import Hospital
from service.regions.service import HospitalNotFound
from service.registry.schemas import PersonRecord


class MemoryCatalog:
    """The shipped policies, compiled once; the session argument is never read."""

    def __init__(self) -> None:
        self._policies = compile_all(shipped_policy_texts())
        self._by_hash = {p.content_hash: p for p in self._policies}

    async def for_region(self, session: Any, *, insured_region: str, on: date) -> CompiledPolicy:
        policy = select_policy(self._policies, insured_region=insured_region, on=on)
        if policy is None:
            raise NoPolicyInForce(f"no policy for {insured_region} on {on}")
        return policy

    async def by_hash(self, session: Any, content_hash: str) -> CompiledPolicy | None:
        return self._by_hash.get(content_hash)

    async def generation(self, session: Any) -> tuple[int | None, int | None]:
        return (None, None)  # never changes: the in-memory store does not check it

    def invalidate(self) -> None:
        pass


class MemoryDirectory:
    def __init__(self, hospitals: tuple[Hospital, ...]) -> None:
        self._known: dict[str, HospitalRef] = {}
        for h in hospitals:
            self.add(h)

    def add(self, h: Hospital) -> None:
        """Register a hospital, as an admin does."""
        self._known[h.code] = HospitalRef(
            h.code, h.name, h.county_code, h.level, h.tier, h.designated
        )

    async def get(self, session: Any, code: str) -> HospitalRef:
        if code not in self._known:
            raise HospitalNotFound(f"hospital {code} is not registered")
        return self._known[code]


class MemoryRegistry:
    """Answers from a dict of ID number -> record; an unknown number is not registered."""

    def __init__(self) -> None:
        self.people: dict[str, PersonRecord] = {}

    async def lookup(self, id_number: str) -> PersonRecord | None:
        return self.people.get(id_number)


def admission_context(
    *, registry: MemoryRegistry, catalog: Any, hospitals: Any, hasher: IdHasher
) -> AdmissionContext:
    lookup = Lookup(
        registry=registry,  # type: ignore[arg-type]
        cache=MemoryCache(),
        ttl_seconds=300,
        recent=RecentAnswers(ttl_seconds=300),
    )
    return AdmissionContext(
        lookup=lookup,
        catalog=catalog,
        hospitals=hospitals,
        hasher=hasher,
        window=DateWindow(date(2016, 1, 1), timedelta(seconds=300)),
    )
