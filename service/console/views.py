"""Rendering: the Jinja2 environment, Chinese labels and inline-SVG bar charts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from service.violations.labels import (
    RULE_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)
from service.violations.scope import CHINA_TZ

ROLE_LABELS = {"auditor": "督查", "hospital": "医院", "admin": "管理员"}
LEVEL_LABELS = {"primary": "一级", "secondary": "二级", "tertiary": "三级"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: Any) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


ENV = Environment(
    loader=PackageLoader("service.console", "templates"), autoescape=select_autoescape()
)
ENV.filters |= {"when": _when, "percent": _percent}
ENV.globals |= {
    "STATUS": STATUS_LABELS,
    "RULES": RULE_LABELS,
    "SEVERITY": SEVERITY_LABELS,
    "SOURCES": SOURCE_LABELS,
    "ROLES": ROLE_LABELS,
    "LEVELS": LEVEL_LABELS,
    "urlencode": urlencode,
}


def page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: str
    width: float  # 0..100, share of the chart's width
    y: int
    mark: float | None = None  # a target line, 0..100


def bars(
    items: list[tuple[str, Decimal, str]],
    *,
    top: Decimal | None = None,
    mark: Decimal | None = None,
) -> list[Bar]:
    """Horizontal bars scaled to the largest value (or `top`), 28 px apart."""
    largest = top or max((v for _, v, _ in items), default=Decimal(0)) or Decimal(1)

    def scale(v: Decimal) -> float:
        return float(min(v / largest, Decimal(1)) * 100)

    return [
        Bar(label, text, scale(value), 28 * i, None if mark is None else scale(mark))
        for i, (label, value, text) in enumerate(items)
    ]
