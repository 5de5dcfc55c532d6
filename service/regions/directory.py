"""The hospitals a process has looked up, kept for a few seconds.

Every admission, status check and settlement needs the calling hospital's level, tier and
designation, and hospitals change a few times a year: one read per request was a tenth of a
settlement's database work. Only hospitals that exist are kept, so a hospital registered a
moment ago is found at once; a change to a known one reaches every replica within `ttl_seconds`
(the same bound as the policy catalog's refresh).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from sqlmodel.ext.asyncio.session import AsyncSession

from service.regions.errors import HospitalNotFound
from service.regions.models import Hospital


@dataclass(frozen=True, slots=True)
class HospitalRef:
    """A hospital as plain values: shared by requests, never bound to a session."""

    code: str
    name: str
    county_code: str
    level: str
    tier: str
    designated: bool

    @classmethod
    def of(cls, row: Hospital) -> HospitalRef:
        """The row's values: every field of the ref is the row's column of the same name."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


class HospitalDirectory:
    def __init__(self, *, ttl_seconds: float = 10.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._known: dict[str, tuple[float, HospitalRef]] = {}

    async def get(self, session: AsyncSession, code: str) -> HospitalRef:
        now = time.monotonic()
        hit = self._known.get(code)
        if hit is not None and now - hit[0] < self.ttl_seconds:
            return hit[1]
        row = await session.get(Hospital, code)
        if row is None:
            self._known.pop(code, None)
            raise HospitalNotFound(f"hospital {code} is not registered", field="hospital_code")
        ref = HospitalRef.of(row)
        self._known[code] = (now, ref)
        return ref
