"""What a region code says about itself: its level and the parent it must have.

`region_chain` (models.py) reads a county's prefecture as code[:4]+"00" and its province as
code[:2]+"0000", so the directory only accepts regions for which that reading is true.
"""

from __future__ import annotations

from service.regions.models import region_chain


def level_of(code: str) -> str:
    """The level a six-digit code stands for: xx0000 a province, xxxx00 a prefecture."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def parent_of(code: str) -> str | None:
    """The region directly above: the next in the code's own chain (none for a province)."""
    chain = region_chain(code)
    return chain[1] if len(chain) > 1 else None
