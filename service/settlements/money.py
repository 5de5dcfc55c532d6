"""Amounts at the API edge: decimal yuan with at most two places in, integer fen inside,
two-place decimal strings out. Never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from service.policy import fen_to_yuan

Amount = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=14,
        decimal_places=2,
        description="Yuan, a decimal string or number with at most two decimals",
        examples=["52000.00"],
    ),
]


def to_fen(amount: Decimal) -> int:
    """Yuan with at most two decimals (validated by `Amount`) to integer fen."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(fen)


def yuan(fen: int) -> str:
    """Integer fen as a two-place yuan string: 562520 -> '5625.20'."""
    return fen_to_yuan(fen)
