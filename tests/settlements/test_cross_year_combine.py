"""Combining the parts of a stay split at a plan-year end whose years' versions differ in their
layers (ADR 0018, addendum): every layer of either year, in the discharge year's order."""

from __future__ import annotations

from decimal import Decimal

from service.policy import Bill, SettlementResult
from service.policy.model import LayerResult
from service.settlements.cross_year import combine


def _layer(code: str, amount: int, ratio: str = "0.50") -> LayerResult:
    return LayerResult(code, "supplementary", code, amount > 0, amount * 2, 0, ratio, amount, None)


def _result(total: int, *layers: LayerResult) -> SettlementResult:
    funds = sum(layer.amount_fen for layer in layers)
    return SettlementResult(
        layers=layers,
        total_fen=total,
        waived_fen=0,
        funds_total_fen=funds,
        patient_pays_fen=total - funds,
        patient_in_policy_fen=total - funds,
        patient_out_of_policy_fen=0,
        actual_ratio=Decimal("0"),
        out_of_policy_share=Decimal("0"),
        findings=(),
        deltas={},
        trace=(),
        policy_hash="h",
        policy_version="v",
    )


def test_a_layer_of_one_year_only_keeps_its_place_and_its_amount() -> None:
    earlier = _result(10_000, _layer("basic", 5_000), _layer("old", 1_000), _layer("aid", 500))
    later = _result(8_000, _layer("basic", 4_000, "0.60"), _layer("aid", 400), _layer("new", 300))
    both = combine([earlier, later], Bill(18_000, 18_000, 0))
    assert [layer.code for layer in both.layers] == ["basic", "old", "aid", "new"]
    assert [layer.amount_fen for layer in both.layers] == [9_000, 1_000, 900, 300]
    assert both.layer("basic").ratio == "0.60"  # the discharge year's
    assert sum(layer.amount_fen for layer in both.layers) + both.patient_pays_fen == 18_000


def test_a_layer_the_earlier_year_had_first_comes_first() -> None:
    earlier = _result(1_000, _layer("first", 100), _layer("basic", 200))
    later = _result(1_000, _layer("basic", 300))
    both = combine([earlier, later], Bill(2_000, 2_000, 0))
    assert [layer.code for layer in both.layers] == ["first", "basic"]
    assert both.funds_total_fen == 600
