"""The one rounding rule: half up to the fen (四舍五入到分)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.policy import fen_to_yuan, round_half_up, yuan_to_fen


@pytest.mark.parametrize(
    ("numerator", "denominator", "fen"),
    [
        (0, 100, 0),
        (49, 100, 0),
        (50, 100, 1),
        (51, 100, 1),
        (150, 100, 2),
        (250, 100, 3),
        (7, 3, 2),
    ],
)
def test_halves_go_up(numerator: int, denominator: int, fen: int) -> None:
    assert round_half_up(numerator, denominator) == fen


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=1, max_value=10**6))
def test_rounding_agrees_with_decimal_half_up(numerator: int, denominator: int) -> None:
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), ROUND_HALF_UP)
    assert round_half_up(numerator, denominator) == int(expected)


def test_a_zero_denominator_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        round_half_up(1, 0)


def test_yuan_and_fen_convert_both_ways() -> None:
    assert yuan_to_fen("937.80") == 937_80
    assert yuan_to_fen(300) == 300_00
    assert fen_to_yuan(4_637_480) == "46374.80"
    assert fen_to_yuan(-5) == "-0.05"


def test_an_amount_below_the_fen_is_refused() -> None:
    with pytest.raises(ValueError, match="two decimals"):
        yuan_to_fen("1.005")
