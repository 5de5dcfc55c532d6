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
    cap = "" if r.cap_left_fen is None else f"; cap left {y(r.cap_left_fen)}"
    cap_zh = "" if r.cap_left_fen is None else f"；年度限额余 {y(r.cap_left_fen)}"
    zh, en = _WHAT[p.kind](p, r)
    return TraceLine(
        step=r.code,
        zh=f"{r.name}：{zh} = {y(r.amount_fen)}{cap_zh}；剩余 {y(left_fen)}",
        en=f"{r.code}: {en} = {y(r.amount_fen)}{cap}; left {y(left_fen)}",
    )


def _ratio(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    return (
        f"({y(r.base_fen)} − 起付 {y(r.deductible_fen)}) × {r.ratio}",
        f"({y(r.base_fen)} − deductible {y(r.deductible_fen)}) × {r.ratio}",
    )


def _bands(p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    # deductible_fen is the part of the threshold this bill filled, not the threshold itself.
    return (
        f"年度累计分段，本次合规 {y(r.base_fen)}，起付线 {y(p.threshold_fen)}"
        f"（本次计入 {y(r.deductible_fen)}）",
        f"bands on the year's eligible amount, {y(r.base_fen)} this time; threshold "
        f"{y(p.threshold_fen)}, {y(r.deductible_fen)} of it filled by this bill",
    )


def _safety_net(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    return (
        f"个人负担 {y(r.base_fen)}，年度封顶余额 {y(r.deductible_fen)}",
        f"personal burden {y(r.base_fen)}, room under the yearly cap {y(r.deductible_fen)}",
    )


def _top_up(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    return (
        f"补足至 {r.ratio}，可补 {y(r.base_fen)}",
        f"top-up to {r.ratio}, coverable {y(r.base_fen)}",
    )


def _fee_waiver(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    return f"减免项目合计 {y(r.base_fen)}", f"waivable lines {y(r.base_fen)}"


def _external(_p: LayerPlan, r: LayerResult) -> tuple[str, str]:
    return f"外部结算金额，基数 {y(r.base_fen)}", f"amount given, base {y(r.base_fen)}"


_WHAT: dict[str, Callable[[LayerPlan, LayerResult], tuple[str, str]]] = {
    "ratio": _ratio,
    "bands": _bands,
    "safety_net": _safety_net,
    "top_up": _top_up,
    "fee_waiver": _fee_waiver,
    "external": _external,
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
    lines = [
        TraceLine(
            "total",
            f"总费用 {y(total_fen)} = 减免 {y(waived_fen)} + 基金合计 {y(funds_fen)} "
            f"+ 个人自付 {y(patient_fen)}；实际报销比例 {actual}",
            f"total {y(total_fen)} = waived {y(waived_fen)} + funds {y(funds_fen)} "
            f"+ patient {y(patient_fen)}; actual reimbursement ratio {actual}",
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
