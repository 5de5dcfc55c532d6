"""The directory's API models: a region and a hospital, as an admin registers them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from service.idtext import NoResidentId, PlainLine
from service.schemas import REGION_CODE, Code, Flag, InputModel

RegionLevel = Literal["province", "prefecture", "county"]
HospitalLevel = Literal["primary", "secondary", "tertiary"]
HospitalTier = Literal["township", "county", "city", "province"]


def _name(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length)


class RegionCreate(InputModel):
    name: Annotated[str, _name(64), PlainLine, NoResidentId]
    level: RegionLevel
    parent_code: str | None = Field(
        default=None,
        pattern=REGION_CODE,
        description="the region directly above, registered first: none for a province, "
        "code[:2]+'0000' for a prefecture, code[:4]+'00' for a county",
    )


class RegionPublic(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None


class HospitalCreate(InputModel):
    name: Annotated[str, _name(128), PlainLine, NoResidentId]
    county_code: str = Field(pattern=REGION_CODE, description="a registered county-level region")
    level: HospitalLevel = Field(description="一级/二级/三级")
    tier: HospitalTier = Field(description="township/county/city/province hospital")
    designated: Flag = Field(description="a 先诊疗后付费 designated hospital")


class HospitalRow(HospitalCreate):
    """A hospital with its code, as a sheet's row or the console's form sends it."""

    code: Code


class HospitalPublic(BaseModel):
    code: str
    name: str
    county_code: str
    level: str
    tier: str
    designated: bool
