"""What the registry says about one person (docs/registry-api.md). The roster snapshot answers
in the same shape, so everything downstream reads one `PersonRecord` whatever the source."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import REGION_CODE

CATEGORY_CODE = r"^[a-z][a-z0-9_]{1,39}$"


class CategorySpan(BaseModel):
    """One category (建档立卡, 低保, 特困, 监测对象 …) and its validity window, ends inclusive."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=CATEGORY_CODE)
    valid_from: date
    valid_to: date | None = None

    def active_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class FamilyDoctor(BaseModel):
    """家庭医生签约服务: the contract and until when it runs."""

    model_config = ConfigDict(frozen=True)

    contracted: bool
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.contracted and (self.valid_to is None or day <= self.valid_to)


class ChronicCard(BaseModel):
    """门诊慢特病证 (chronic-disease card) with its expiry."""

    model_config = ConfigDict(frozen=True)

    disease: str = Field(default="unspecified", max_length=64)
    valid_to: date


class PersonRecord(BaseModel):
    """A registered person. Unknown extra fields from upstream are ignored, wrong types are not."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    insured_county: str = Field(pattern=REGION_CODE)
    deceased: bool = False
    categories: tuple[CategorySpan, ...] = ()
    family_doctor: FamilyDoctor | None = None
    chronic_cards: tuple[ChronicCard, ...] = ()
    updated_at: datetime | None = None

    def categories_on(self, day: date) -> tuple[CategorySpan, ...]:
        return tuple(c for c in self.categories if c.active_on(day))

    def chronic_card_valid_on(self, day: date) -> bool:
        return any(day <= card.valid_to for card in self.chronic_cards)


class NotRegisteredBody(BaseModel):
    """The registry's 404 body. A 404 without it (a proxy's page, a wrong path) is a failure."""

    code: str = Field(pattern=r"^not_registered$")
