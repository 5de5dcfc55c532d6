"""What a region code says about itself: its level and the parent it must have.

`region_chain` (models.py) reads a county's prefecture as code[:4]+"00" and its province as
code[:2]+"0000", so the directory only accepts regions for which that reading is true.
"""

from __future__ import annotations

LEVELS = ("province", "prefecture", "county")


def level_of(code: str) -> str:
    """The level a six-digit code stands for: xx0000 a province, xxxx00 a prefecture."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def parent_of(code: str) -> str | None:
    """The region directly above: none for a province, the province for a prefecture, the
    prefecture for a county."""
    level = level_of(code)
    if level == "province":
        return None
    if level == "prefecture":
        return code[:2] + "0000"
    return code[:4] + "00"
