"""Readable trace lines (Chinese and English), built only when asked for."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from service.policy.compiled import LayerPlan
from service.policy.model import Finding, LayerResult, TraceLine
from service.policy.money import fen_to_yuan as y

__all__ = ["layer_line", "summary_lines"]


def layer_line(p: LayerPlan, r: LayerResult, left_fen: int) -> TraceLine:
    """One line for one layer, with its numbers."""
    # Each amount is rendered once for both languages.
    if r.cap_left_fen is None:
        cap = cap_zh = ""
    else:
        cap_left = y(r.cap_left_fen)
        cap, cap_zh = f"; cap left {cap_left}", f"；年度限额余 {cap_left}"
    zh, en = _WHAT[p.kind](p, r)
    amount, left = y(r.amount_fen), y(left_fen)
    return TraceLine(
        step=r.code,
        zh=f"{r.name}：{zh} = {amount}{cap_zh}；剩余 {left}",
        en=f"{r.code}: {en} = {amount}{cap}; left {left}",
    )


def _ratio(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    base, deductible = y(r.base_fen), y(r.deductible_fen)
    return (
        f"({base} − 起付 {deductible}) × {r.ratio}",
        f"({base} − deductible {deductible}) × {r.ratio}",
    )


def _bands(p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    # deductible_fen is the part of the threshold this bill filled, not the threshold itself.
    base, threshold, filled = y(r.base_fen), y(p.threshold_fen), y(r.deductible_fen)
    return (
        f"年度累计分段，本次合规 {base}，起付线 {threshold}（本次计入 {filled}）",
        f"bands on the year's eligible amount, {base} this time; threshold "
        f"{threshold}, {filled} of it filled by this bill",
    )


def _safety_net(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    burden, room = y(r.base_fen), y(r.deductible_fen)
    return (
        f"个人负担 {burden}，年度封顶余额 {room}",
        f"personal burden {burden}, room under the yearly cap {room}",
    )


def _top_up(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    base = y(r.base_fen)
    return f"补足至 {r.ratio}，可补 {base}", f"top-up to {r.ratio}, coverable {base}"


def _hospital_share(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    base = y(r.base_fen)
    return f"医院减免（{r.ratio}），基数 {base}", f"borne by the hospital ({r.ratio}), base {base}"


_What = Callable[[LayerPlan, LayerResult], tuple[str, str]]


def _base_after(zh: str, en: str) -> _What:
    """A kind whose words are a label and the layer's base after it."""

    def what(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
        base = y(r.base_fen)
        return f"{zh} {base}", f"{en} {base}"

    return what


_WHAT: dict[str, _What] = {
    "ratio": _ratio,
    "bands": _bands,
    "safety_net": _safety_net,
    "top_up": _top_up,
    "fee_waiver": _base_after("减免项目合计", "waivable lines"),
    "hospital_share": _hospital_share,
    "fixed_amount": _base_after("定额支付，基数", "fixed amount, base"),
    "external": _base_after("外部结算金额，基数", "amount given, base"),
}
"""What each kind of layer computed, in words (zh, en): only the layer's own kind is built."""


def summary_lines(
    total_fen: int,
    waived_fen: int,
    funds_fen: int,
    patient_fen: int,
    actual: Decimal,
    findings: tuple[Finding, ...],
) -> list[TraceLine]:
    total, waived, funds, patient = y(total_fen), y(waived_fen), y(funds_fen), y(patient_fen)
    lines = [
        TraceLine(
            "total",
            f"总费用 {total} = 减免 {waived} + 基金合计 {funds} "
            f"+ 个人自付 {patient}；实际报销比例 {actual}",
            f"total {total} = waived {waived} + funds {funds} "
            f"+ patient {patient}; actual reimbursement ratio {actual}",
        )
    ]
    for f in findings:
        verdict_zh = "违规" if f.violated else "合规"
        verdict_en = "VIOLATED" if f.violated else "ok"
        lines.append(
            TraceLine(
                f"control:{f.rule}",
                f"{f.rule}：实测 {f.measured}，限值 {f.limit}，{verdict_zh}，扣分 {f.points}",
                f"{f.rule}: measured {f.measured}, limit {f.limit}, {verdict_en}, "
                f"points {f.points}",
            )
        )
    return lines
