"""Money at the edge of the service: the one API amount type, and the one way from yuan to fen.

Inside, money is integer fen. A request carries yuan (a decimal string or a JSON number with
at most two decimals, ASCII digits only, at most `MAX_AMOUNT_YUAN`); `yuan_to_fen` turns it
into fen once, at the edge; answers carry two-place yuan strings (`fen_to_yuan`).

The arithmetic itself (the conversion and the one rounding rule, `round_half_up` 四舍五入) lives
in the pure engine, `service.policy.money`, because the engine converts policy documents' yuan
with it and may import nothing outside `service.policy`. Everything outside the engine imports
money from here, so there is one conversion and one rounding rule (ADR 0010).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from service.policy.money import fen_to_yuan, round_half_up, share, yuan_to_fen
from service.schemas import not_a_bool

__all__ = [
    "MAX_AMOUNT_YUAN",
    "MAX_TOTAL_YUAN",
    "Amount",
    "TotalAmount",
    "fen_to_yuan",
    "round_half_up",
    "share",
    "written_plainly",
    "yuan_to_fen",
]

MAX_AMOUNT_YUAN = Decimal("10000000.00")
"""No bill, bill line, external amount or deposit above ten million yuan is plausible: the
costliest inpatient treatments cost a few million. A larger figure is a typing error or an
attack, and settling it would move that much of a fund (ADR 0010)."""


# A minus passes (the bounds refuse a negative amount with their own code, as for a number;
# before a zero it is refused below), and so do more decimals (the two-decimal rule names
# them: decimal_max_places).
_PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def written_plainly(value: Any) -> Any:
    """An amount written as text is ASCII digits written plainly (`amount_not_ascii`,
    `amount_not_plain`): the one rule for every amount a caller writes, the API's strings and
    a fund's detail file (service/clearing/detail_file.py) alike. A number passes, but for a
    negative zero."""
    if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
        raise _negative_zero()
    if not isinstance(value, str):
        return value
    # Decimal() reads any Unicode digit ("١٠٠.00", "１００") as its ASCII value: a bill typed in
    # another script would be settled as a number nobody on the bill wrote.
    if not value.isascii():
        raise PydanticCustomError(
            "amount_not_ascii", "write amounts with the ASCII digits 0-9 and a '.' only"
        )
    # Decimal() also reads "1.2E4", " 1_0000.00", "+5\n", ".5" and "NaN", which no bill shows:
    # a HIS sending them has a formatting bug that should be named, not settled.
    if not _PLAIN.fullmatch(value):
        raise PydanticCustomError(
            "amount_not_plain",
            "write amounts as plain decimals: digits, then decimals after a '.' (52000.00), "
            "with no '+', exponent, space or '_'",
        )
    if value[0] == "-" and Decimal(value).is_zero():
        raise _negative_zero()
    return value


def _negative_zero() -> PydanticCustomError:
    # "-0.00" is what printf("%.2f") makes of a float a little below zero: a HIS keeping money
    # in floats, or a sign computed for a nothing. A bill never shows it; nothing is settled
    # on a guess of which zero, or which amount, was meant.
    return PydanticCustomError(
        "amount_not_plain", "write zero as 0 or 0.00, without a '-' (a negative zero)"
    )


MAX_TOTAL_YUAN = Decimal("100000000000.00")
"""No period's total of one hospital is plausibly more than a hundred billion yuan either way
(the largest hospitals take in a few tens of billions a year); a total can be negative, since
reversals of an earlier period's settlements may outweigh a period's own (ADR 0010)."""


def _plausible(value: Decimal) -> Decimal:
    if value > MAX_AMOUNT_YUAN:
        raise PydanticCustomError(
            "amount_implausible",
            "{amount} yuan is above the plausible maximum of {maximum} yuan for one amount",
            {"amount": str(value), "maximum": str(MAX_AMOUNT_YUAN)},
        )
    return value


def _plausible_total(value: Decimal) -> Decimal:
    if abs(value) > MAX_TOTAL_YUAN:
        raise PydanticCustomError(
            "amount_implausible",
            "{amount} yuan is beyond the plausible bound of ±{maximum} yuan for a total",
            {"amount": str(value), "maximum": str(MAX_TOTAL_YUAN)},
        )
    return value


Amount = Annotated[
    Decimal,
    Field(
        ge=0,
        decimal_places=2,
        description=(
            "Yuan: a decimal string (plain: no '+', exponent, space or '_') or number, ASCII "
            f"digits, at most two decimals, at most {MAX_AMOUNT_YUAN} (a larger amount is not "
            "plausible and is refused)"
        ),
        examples=["52000.00"],
        json_schema_extra={"maximum": int(MAX_AMOUNT_YUAN)},
    ),
    BeforeValidator(written_plainly),
    BeforeValidator(not_a_bool),
    AfterValidator(_plausible),
]
"""The one amount type of the API: yuan in, validated; convert with `yuan_to_fen`."""

TotalAmount = Annotated[
    Decimal,
    Field(
        decimal_places=2,
        description=(
            "Yuan, a period's total: a decimal string (plain) or number, ASCII digits, at "
            f"most two decimals, signed, at most {MAX_TOTAL_YUAN} either way"
        ),
        examples=["20500.00"],
    ),
    BeforeValidator(written_plainly),
    BeforeValidator(not_a_bool),
    AfterValidator(_plausible_total),
]
"""A total sent to be compared with ours (NHSA 3201 对总账); convert with `yuan_to_fen`."""
