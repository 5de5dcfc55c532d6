"""What a region code says about itself: its level and the parent it must have.

`region_chain` (models.py) reads a county's prefecture as code[:4]+"00" and its province as
code[:2]+"0000", so the directory only accepts regions for which that reading is true.
"""

from __future__ import annotations

from service.regions.models import region_chain

PROVINCES = frozenset(
    ("11", "12", "13", "14", "15", "21", "22", "23")
    + tuple(str(n) for n in range(31, 38))
    + tuple(str(n) for n in range(41, 47))
    + tuple(str(n) for n in range(50, 55))
    + tuple(str(n) for n in range(61, 66))
    + ("71", "81", "82")
)
"""The two leading digits of a province-level region by GB/T 2260 (北京 11 … 新疆 65, 台湾 71,
香港 81, 澳门 82): `000000` or `160000` is no region anywhere."""

SYNTHETIC_PROVINCES = frozenset(str(n) for n in range(90, 100))
"""Leading digits GB/T 2260 leaves unassigned, which the demo (99) and the docs' examples (98)
use so that made-up data can never be taken for a real place: accepted outside production only,
where the demo is seeded (`Settings.should_seed_demo`)."""


def level_of(code: str) -> str:
    """The level a six-digit code stands for: xx0000 a province, xxxx00 a prefecture."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def real_province(code: str, *, synthetic: bool) -> bool:
    """Does the code lie in a province GB/T 2260 names (or, with `synthetic`, a made-up one)?"""
    return code[:2] in PROVINCES or (synthetic and code[:2] in SYNTHETIC_PROVINCES)


def parent_of(code: str) -> str | None:
    """The region directly above: the next in the code's own chain (none for a province)."""
    chain = region_chain(code)
    return chain[1] if len(chain) > 1 else None
