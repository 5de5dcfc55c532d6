"""The policies in force, compiled once and shared by every request of a process.

Replicas learn of a version loaded, succeeded or withdrawn elsewhere by checking the newest ids
of the versions and of their history at most every `refresh_seconds`; compiling happens only
when those change. The set is compiled by date (service/policy_versions/timeline.py): a county
version appears once per province version it meets, each piece in force on its own window.

A settlement writes only if the set it chose from is still the stored one (`generation`, checked
inside its write statement: ADR 0018, addendum "A replica's stale list"), so a list up to
`refresh_seconds` old never settles a visit under a version closed meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from service.policy import CompiledPolicy, select_policy
from service.policy_versions.errors import NoPolicyInForce
from service.policy_versions.service import list_versions, stored_of
from service.policy_versions.store import Generation, SqlPolicyVersionStore
from service.policy_versions.timeline import compile_timeline


class PolicyCatalog:
    def __init__(self, *, refresh_seconds: float = 10.0) -> None:
        self.refresh_seconds = refresh_seconds
        self._policies: list[CompiledPolicy] = []
        self._by_hash: dict[str, CompiledPolicy] = {}
        self._newest_id: Generation = (-1, -1)
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._checked_at = float("-inf")

    async def policies(self, session: AsyncSession) -> list[CompiledPolicy]:
        if time.monotonic() - self._checked_at >= self.refresh_seconds:
            async with self._lock:
                if time.monotonic() - self._checked_at >= self.refresh_seconds:
                    await self._refresh(session)
        return self._policies

    async def generation(self, session: AsyncSession) -> Generation:
        """The stored set this catalogue holds (refreshed first if due), named by its newest
        ids as they were read before the set itself: a set changed in between reads as stale
        at the next check, never as current."""
        await self.policies(session)
        return self._newest_id

    async def _refresh(self, session: AsyncSession) -> None:
        newest_id = await SqlPolicyVersionStore(session).newest_id()
        if newest_id != self._newest_id:
            stored = await list_versions(session)
            pieces = compile_timeline(stored_of(stored)) if stored else []
            self._policies = [piece.policy for piece in pieces]
            self._by_hash = {p.content_hash: p for p in self._policies}
            self._newest_id = newest_id
        self._checked_at = time.monotonic()

    async def for_region(
        self, session: AsyncSession, *, insured_region: str, on: date
    ) -> CompiledPolicy:
        policy = select_policy(await self.policies(session), insured_region=insured_region, on=on)
        if policy is None:
            raise NoPolicyInForce(
                f"no policy is in force for region {insured_region} on {on.isoformat()}",
                field="insured_county",
            )
        return policy

    async def by_hash(self, session: AsyncSession, content_hash: str) -> CompiledPolicy | None:
        await self.policies(session)
        return self._by_hash.get(content_hash)
