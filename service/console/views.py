"""Rendering: the Jinja2 environment, Chinese labels and inline-SVG bar charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from service.china_time import to_the_minute
from service.console.access import nav_for
from service.console.answers import refusal_context
from service.console.carry import carried_of
from service.violations.labels import (
    RULE_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)
from service.yearend.labels import FUND_LABELS

ROLE_LABELS = {"auditor": "督查", "hospital": "医院", "admin": "管理员", "fund": "基金"}
LEVEL_LABELS = {"primary": "一级", "secondary": "二级", "tertiary": "三级"}
TIER_LABELS = {"township": "乡镇", "county": "县级", "city": "市级", "province": "省级"}
REGION_LEVEL_LABELS = {"province": "省", "prefecture": "市", "county": "县"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


ENV = Environment(
    loader=PackageLoader("service.console", "templates"), autoescape=select_autoescape()
)
ENV.filters |= {"when": to_the_minute, "percent": _percent}
ENV.globals |= {
    "STATUS": STATUS_LABELS,
    "RULES": RULE_LABELS,
    "SEVERITY": SEVERITY_LABELS,
    "SOURCES": SOURCE_LABELS,
    "ROLES": ROLE_LABELS,
    "LEVELS": LEVEL_LABELS,
    "TIERS": TIER_LABELS,
    "REGION_LEVELS": REGION_LEVEL_LABELS,
    "FUNDS": FUND_LABELS,
    "urlencode": urlencode,
    "nav_for": nav_for,
    "carried_of": carried_of,
    # A refused form's page has them (service/console/answers.py); others, nothing typed.
    "posted": {},
    "field_errors": {},
}


def page(
    template: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    html = ENV.get_template(template).render({**context, **refusal_context()})
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: str
    width: float  # 0..100, share of the chart's width
    y: int
    mark: float | None = None  # a target line, 0..100
    tone: str = "plain"  # met / miss against a target; plain where there is none


def bars(
    items: list[tuple[str, Decimal, str]],
    *,
    top: Decimal | None = None,
    mark: Decimal | None = None,
    tones: list[str] | None = None,
) -> list[Bar]:
    """Horizontal bars scaled to the largest value (or `top`), 28 px apart."""
    largest = top or max((v for _, v, _ in items), default=Decimal(0)) or Decimal(1)

    def scale(v: Decimal) -> float:
        return float(min(v / largest, Decimal(1)) * 100)

    return [
        Bar(
            label,
            text,
            scale(value),
            28 * i,
            None if mark is None else scale(mark),
            tones[i] if tones else "plain",
        )
        for i, (label, value, text) in enumerate(items)
    ]


def tone(meets_target: bool | None) -> str:
    """A bar is red only when it misses its target; with no target it is neutral."""
    return "plain" if meets_target is None else ("met" if meets_target else "miss")


@dataclass(frozen=True, slots=True)
class LineChart:
    """Month-by-month lines on a 0..100% scale, with the target as a dashed line: one segment
    per run of months held to the same target (a policy may change it at New Year)."""

    labels: list[tuple[float, str]]  # (x, month)
    lines: list[tuple[str, str, str]]  # (name, css class, SVG points)
    dots: list[tuple[float, float, str]]  # (x, y, value text)
    targets: list[tuple[float, float, float]]  # (x from, x to, y)
    width: int = 720
    height: int = 220


CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 48, 680, 12, 190


TARGET_LEFT, TARGET_RIGHT = 48, 690  # a target over every month spans the axis


def line_chart(
    labels: list[str],
    series: list[tuple[str, str, list[Decimal | None]]],
    targets: Sequence[tuple[int, int, Decimal]] = (),
) -> LineChart:
    """`targets`: (first month's index, last month's index, target) runs (Trends.target_runs);
    a run's segment reaches halfway to the next month, or the axis's end."""
    step = (CHART_RIGHT - CHART_LEFT) / max(len(labels) - 1, 1)

    def y(value: Decimal) -> float:
        share = float(min(max(value, Decimal(0)), Decimal(1)))
        return CHART_BOTTOM - share * (CHART_BOTTOM - CHART_TOP)

    lines: list[tuple[str, str, str]] = []
    dots: list[tuple[float, float, str]] = []
    for name, css, values in series:
        points = [(CHART_LEFT + i * step, y(v), v) for i, v in enumerate(values) if v is not None]
        lines.append((name, css, " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)))
        dots.extend((px, py, _percent(v)) for px, py, v in points)
    ticks = [(CHART_LEFT + i * step - 18, label) for i, label in enumerate(labels)]
    last = len(labels) - 1
    segments = [
        (
            TARGET_LEFT if first == 0 else CHART_LEFT + (first - 0.5) * step,
            TARGET_RIGHT if end == last else CHART_LEFT + (end + 0.5) * step,
            y(target),
        )
        for first, end, target in targets
    ]
    return LineChart(ticks, lines, dots, segments)


@dataclass(frozen=True, slots=True)
class Stack:
    label: str
    x: float
    parts: list[tuple[str, float, float, int]]  # (rule, y, height, count)


def stacked_bars(labels: list[str], by_rule: dict[str, list[int]]) -> list[Stack]:
    """Findings per month stacked by rule, scaled to the busiest month, 170 px tall."""
    totals = [sum(counts[i] for counts in by_rule.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    step = (CHART_RIGHT - CHART_LEFT + 40) / max(len(labels), 1)
    stacks = []
    for i, label in enumerate(labels):
        y = float(CHART_BOTTOM)
        parts = []
        for rule, counts in sorted(by_rule.items()):
            if counts[i]:
                height = counts[i] / top * (CHART_BOTTOM - CHART_TOP)
                y -= height
                parts.append((rule, y, height, counts[i]))
        stacks.append(Stack(label, CHART_LEFT + i * step, parts))
    return stacks
