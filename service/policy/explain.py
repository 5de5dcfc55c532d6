"""Render a settlement as text (for the CLI and slips)."""

from __future__ import annotations

from service.policy.model import SettlementResult
from service.policy.money import fen_to_yuan as y

__all__ = ["explain"]


def explain(result: SettlementResult) -> str:
    """The table of layers, the totals, the findings and (when built) the trace."""
    rows = _table(result)
    rows += [
        f"total {y(result.total_fen)}  waived {y(result.waived_fen)}  "
        f"funds {y(result.funds_total_fen)}  patient {y(result.patient_pays_fen)} "
        f"(in-policy {y(result.patient_in_policy_fen)}, "
        f"out-of-policy {y(result.patient_out_of_policy_fen)})",
        f"actual ratio {result.actual_ratio}  out-of-policy share {result.out_of_policy_share}  "
        f"policy {result.policy_version} {result.policy_hash[:12]}",
    ]
    for f in result.findings:
        rows.append(
            f"{'VIOLATED' if f.violated else 'ok':<9}{f.rule}: {f.detail} (points {f.points})"
        )
    if result.trace:
        rows.append("trace:")
        for line in result.trace:
            rows.append(f"  {line.zh}")
            rows.append(f"  {line.en}")
    if result.deltas:
        rows.append(
            "accumulator deltas: "
            + ", ".join(
                f"{key} {'+' if fen >= 0 else ''}{y(fen)}" for key, fen in result.deltas.items()
            )
        )
    return "\n".join(rows)


def _table(result: SettlementResult) -> list[str]:
    """The layers, each column as wide as its widest cell and two spaces apart (a long ratio
    text such as Ya'an's `1.00; out 0.95` never runs into its neighbour)."""
    cells = [("layer", "fund", "base", "deduct.", "ratio", "amount")]
    for layer in result.layers:
        mark = "" if layer.applied else " (n/a)"
        cells.append(
            (
                layer.code + mark,
                layer.fund_type,
                y(layer.base_fen),
                y(layer.deductible_fen),
                layer.ratio,
                y(layer.amount_fen),
            )
        )
    widths = [max(len(row[i]) for row in cells) for i in range(6)]
    return [
        "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]
