"""Problem details in Chinese for callers that ask for them (Accept-Language: zh-CN).

A desk reads Chinese. The stable `code` is the same in every language, so a HIS that branches on
codes behaves alike; the Chinese `title` and `detail` come from service/locale/zh_CN.yaml (data a
translator can edit), and the English detail, which names the visit or settlement at fault,
stays in `detail_en`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


@dataclass(frozen=True, slots=True)
class Catalog:
    problems: dict[str, tuple[str, str]]
    fields: dict[str, str]

    def field_message(self, code: str, english: str) -> str:
        """A field's problem in Chinese: its validator's words, else its problem's advice,
        else the English message."""
        return self.fields.get(code) or self.problems.get(code, ("", ""))[1] or english


@cache
def catalog() -> Catalog:
    text = (resources.files("service") / "locale" / "zh_CN.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return Catalog(
        problems={code: (title, detail) for code, (title, detail) in data["problems"].items()},
        fields=dict(data["fields"]),
    )


@cache
def wants_chinese(accept_language: str) -> bool:
    """Whether Chinese ranks above English in an Accept-Language header (RFC 9110 12.5.4)."""
    best: dict[str, float] = {}
    for part in accept_language.split(",")[:20]:
        found = _RANGE.match(part)
        if found is None:
            continue
        try:
            weight = float(found[2]) if found[2] else 1.0
        except ValueError:
            continue
        language = found[1].split("-")[0].lower()
        best[language] = max(best.get(language, 0.0), weight)
    return best.get("zh", 0.0) > max(best.get("en", 0.0), 0.0)
