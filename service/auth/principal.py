"""Who is calling: a role and the scope it is bound to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    HOSPITAL = "hospital"  # bound to one hospital code
    AUDITOR = "auditor"  # bound to a region code prefix, e.g. "99" or "9901"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    role: Role
    hospital_code: str | None = None
    region_prefix: str | None = None

    def sees_hospital(self, hospital_code: str, county_code: str) -> bool:
        """Whether an object of this hospital (in this county) is visible to the caller."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.HOSPITAL:
            return hospital_code == self.hospital_code
        return county_code.startswith(self.region_prefix or "\x00")

    def sees_region(self, region_code: str) -> bool:
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.AUDITOR:
            return region_code.startswith(self.region_prefix or "\x00")
        return False

    @property
    def label(self) -> str:
        scope = self.hospital_code or self.region_prefix or "*"
        return f"{self.role.value}:{scope}#{self.key_id}"
