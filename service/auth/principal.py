"""Who is calling: a role and the scope it is bound to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    HOSPITAL = "hospital"  # bound to one hospital code
    AUDITOR = "auditor"  # bound to a region code prefix, e.g. "99" or "9901"
    ADMIN = "admin"
    FUND = "fund"  # bound to one fund (service/clearing) and one region code prefix


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    role: Role
    hospital_code: str | None = None
    region_prefix: str | None = None
    fund_code: str | None = None

    def sees_hospital(self, hospital_code: str, county_code: str) -> bool:
        """Whether an object of this hospital (in this county) is visible to the caller."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.HOSPITAL:
            return hospital_code == self.hospital_code
        return county_code.startswith(self.region_prefix or "\x00")

    def sees_fund(self, fund_code: str) -> bool:
        """A fund key sees its own fund's figures only; every other role sees every fund."""
        return self.role is not Role.FUND or fund_code == self.fund_code

    def sees_region(self, region_code: str) -> bool:
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.AUDITOR:
            return region_code.startswith(self.region_prefix or "\x00")
        return False

    @property
    def label(self) -> str:
        scope = self.hospital_code or self.region_prefix or "*"
        if self.fund_code:
            scope = f"{self.fund_code}@{scope}"
        return f"{self.role.value}:{scope}#{self.key_id}"
