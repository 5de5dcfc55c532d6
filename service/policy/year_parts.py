"""The parts of a stay split at plan-year ends, added up into one result (ADR 0018). Pure: the
live settlement (service/settlements/cross_year.py) and the what-if (service/policy/whatif.py)
combine their parts with it. Each part may have been settled under its own year's version, so
the parts need not have the same layers."""

from __future__ import annotations

from collections.abc import Sequence

from service.policy.model import LayerResult, SettlementResult

__all__ = ["combined_layers"]


def _codes(results: Sequence[SettlementResult]) -> list[str]:
    """Every layer of any part, in the last part's order; a layer only an earlier part has
    comes after the layer it followed there (or first)."""
    codes = [layer.code for layer in results[-1].layers]
    for result in reversed(results[:-1]):
        after = -1
        for layer in result.layers:
            if layer.code in codes:
                after = codes.index(layer.code)
            else:
                after += 1
                codes.insert(after, layer.code)
    return codes


def _layer(code: str, results: Sequence[SettlementResult]) -> LayerResult:
    parts = [layer for result in results for layer in result.layers if layer.code == code]
    return parts[-1]._replace(
        applied=any(p.applied for p in parts),
        base_fen=sum(p.base_fen for p in parts),
        deductible_fen=sum(p.deductible_fen for p in parts),
        amount_fen=sum(p.amount_fen for p in parts),
    )


def combined_layers(results: Sequence[SettlementResult]) -> tuple[LayerResult, ...]:
    """Each layer over the parts that have it: amounts, bases and deductibles summed; its name,
    fund, ratio and cap left those of the latest part that has it."""
    return tuple(_layer(code, results) for code in _codes(results))
