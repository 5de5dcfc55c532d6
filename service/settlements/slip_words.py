"""How the slip says a layer's ratio and a share: in Chinese, as percentages.

The API keeps its compact ratio text ("0.60; out 0.95", "bands", "target 0.90") for machines;
a patient reading the slip gets "60%（目录外 95%）", "分段累进", "补足至 90%".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_KIND_WORDS = {"bands": "分段累进", "cap": "年度封顶", "waiver": "减免", "given": "外部结算"}


def percent(ratio: str | None) -> str:
    """'0.8500' -> '85.00%', '0.85' -> '85%', '1.00' -> '100%'; anything else as it is."""
    if ratio is None:
        return "—"
    try:
        value = Decimal(ratio) * 100
    except InvalidOperation:
        return ratio
    places = max(len(ratio.partition(".")[2]) - 2, 0)
    return f"{value:.{places}f}%"


def ratio_words(text: str) -> str:
    """A layer's ratio text as the slip shows it."""
    head, _, out = text.partition("; out ")
    if head.startswith("target "):
        words = f"补足至 {percent(head.removeprefix('target '))}"
    else:
        words = _KIND_WORDS.get(head) or percent(head)
    return f"{words}（目录外 {percent(out)}）" if out else words
