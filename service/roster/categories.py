"""Category names as county offices write them (低保对象, 特困供养人员 …), read as the category
codes the policies declare. The names are data: service/roster/data/category_names.yaml."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# Spaces (ASCII, full-width, non-breaking) and brackets of either width are ignored in names.
_IGNORED = re.compile(r"[\s\u3000\u00a0()（）]")


@cache
def names_to_codes() -> dict[str, str]:
    text = (resources.files("service.roster") / "data" / "category_names.yaml").read_text("utf-8")
    table: dict[str, list[str]] = yaml.safe_load(text)
    return {_folded(name): code for code, names in table.items() for name in names}


def _folded(name: str) -> str:
    return _IGNORED.sub("", name)


def category_code(cell: str) -> str | None:
    """The code a roster cell stands for: a code as written, or a known name; None if neither."""
    if _CODE.match(cell):
        return cell
    return names_to_codes().get(_folded(cell))
