from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from service.identity import IdHasher
from service.policy_versions.shipped import shipped_versions


async def seed(session: AsyncSession, hasher: IdHasher) -> list[str]:
    """Load every shipped policy (the demo region and the worked examples' regions)."""
    versions = shipped_versions(loaded_by="demo-data")
    session.add_all(versions)
    await session.flush()
    listed = ", ".join(f"{v.region_code} {v.version}" for v in versions)
    return [f"policies loaded: {len(versions)} ({listed})"]
