"""The code mapping (national codes, replaced per province by a data file): fund types,
identity types, medical types and rule names. Data, not code: service/nhsa/data/*.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

NATIONAL = "national"


@dataclass(frozen=True, slots=True)
class Code:
    code: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Mapping:
    region: str
    insutype: str
    funds: dict[str, Code]
    identities: dict[str, Code]
    med_types: dict[str, str]
    rules: dict[str, str]

    def fund(self, fund_type: str) -> Code:
        return self.funds.get(fund_type, Code(None, None))

    def identity(self, category: str) -> Code:
        return self.identities.get(category, Code(None, None))


def _read(name: str) -> dict[str, Any] | None:
    source = resources.files("service.nhsa").joinpath("data", f"{name}.yaml")
    if not source.is_file():
        return None
    loaded: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return loaded


def _codes(section: dict[str, Any]) -> dict[str, Code]:
    codes = {}
    for key, value in section.items():
        value = value or {}
        codes[key] = Code(value.get("code"), value.get("name"))
    return codes


@cache
def mapping_for(province: str) -> Mapping:
    """The national mapping with the province file's entries over it (if there is one)."""
    national = _read(NATIONAL)
    assert national is not None, "service/nhsa/data/national.yaml is missing"
    local = (_read(province) if province.isdigit() else None) or {}
    merged = {
        section: {**national.get(section, {}), **local.get(section, {})}
        for section in ("funds", "identities", "med_types", "rules")
    }
    return Mapping(
        region=province if local else NATIONAL,
        insutype=str(local.get("insutype", national["insutype"])),
        funds=_codes(merged["funds"]),
        identities=_codes(merged["identities"]),
        med_types={str(k): v for k, v in merged["med_types"].items()},
        rules=dict(merged["rules"]),
    )


def province_of(county: str | None) -> str:
    """The province code (省级区划, `xx0000`) of a county code; national when unknown."""
    if county is None or len(county) != 6 or not county.isdigit():
        return NATIONAL
    return county[:2] + "0000"
