"""What the concepts' API models share."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    """A request body (or a model nested in one) or a query model: a field it does not name is
    refused (422), never silently dropped."""

    model_config = ConfigDict(extra="forbid")


REGION_CODE = r"^[0-9]{6}$"
"""A region's own code (行政区划代码): six ASCII digits (`\\d` would take ٩٩٠١٠٢ too)."""

REGION_PREFIX = r"^[0-9]{2,6}$"
"""A region code or its prefix (province 2 digits, city 4, county 6): every filter by region
takes only digits, so a `%` or `_` never reaches a LIKE."""

LEVEL_PREFIX = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})$"
"""A whole province (2 digits), prefecture (4) or county (6): what something registered for a
region covers. 3 or 5 digits would cover a slice of codes no region is."""

CODE = r"^[A-Z0-9_-]+$"
"""A hospital's, fund's or rule's code: upper-case ASCII letters, digits, `_` and `-` (nothing
a path, a LIKE or a CSV cell would read as syntax). Upper case only, as NHSA's institution codes
are written: `h990102002` beside `H990102002` would be two hospitals to keys, admissions and
clearing. A lower-case code is refused, not folded, so what is stored is what the caller sent
(`Code`, docs/CONVENTIONS.md)."""


def has_lower_case(code: str) -> bool:
    return any("a" <= c <= "z" for c in code)


def _upper_case(value: Any) -> Any:
    if isinstance(value, str) and has_lower_case(value):
        raise PydanticCustomError(
            "code_not_upper_case",
            "codes are written in upper case, as NHSA institution codes are (H990102002, not "
            "h990102002)",
        )
    return value


# The bounds sit inside, before the validator: declared outside it, pydantic still checks them
# but leaves them out of the OpenAPI document.
Code = Annotated[
    str, Field(min_length=1, max_length=32, pattern=CODE), BeforeValidator(_upper_case)
]
"""A hospital's or fund's code as a request names it (body, path or query): `CODE`, at most
32 characters; a lower-case letter is refused with its own reason (`code_not_upper_case`)."""

RuleCode = Annotated[
    str, Field(min_length=1, max_length=40, pattern=CODE), BeforeValidator(_upper_case)
]
"""A violation rule's code (`DEPOSIT_CHARGED`), by the same rule."""


# Pydantic's lax mode reads `"no"`, `"off"`, `0` or `"0"` as false and `true` as the integer 1:
# a HIS that sends `"designated": "no"` or `"amount": true` gets a guess, not a 422. A request
# body's flags and numbers are these types instead. Forms and sheets say yes or no in words of
# their own; the handler that reads them turns those into a bool before the model sees them.


def _json_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "expected true or false (a JSON boolean)")
    return value


def not_a_bool(value: Any) -> Any:
    """A number is never a boolean (Python's `True == 1`): refuse `true` where a number goes."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "expected a number, not true or false")
    return value


Flag = Annotated[bool, BeforeValidator(_json_bool)]
"""A request body's yes/no: JSON `true` or `false`, nothing else (`"yes"`, `1`, `"on"` are 422)."""


# Pydantic reads "3.0", "+3", "03", " 3 " and "3_0" as integers (3, 3, 3, 3, 30): a client
# with a formatting bug gets a guess, and "3_0" another page size than it shows.
def _written_plainly(pattern: str, message: str) -> Callable[[Any], Any]:
    """A check that an integer sent as text is written as `pattern` says (`int_not_plain`)."""
    plain = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not plain.fullmatch(value):
            raise PydanticCustomError("int_not_plain", message)
        return value

    return check


PlainDigits = BeforeValidator(
    _written_plainly(
        r"0|[1-9][0-9]*",
        "write a whole number with the digits 0-9 alone: no sign, decimal point, leading zero, "
        "space or '_'",
    )
)
"""A query string's integer (`limit`, `page_size`, a year, an id) is the digits 0-9 and nothing
else, without a leading zero: `3.0`, `+3`, `03`, ` 3`, `-3` are 422 `int_not_plain`. Put it
after the parameter's `Query()` (`Annotated[int, Query(ge=1), PlainDigits]`): FastAPI drops
it from an alias whose `Query()` is the default, and a `Query()` after it would write the
bounds into the OpenAPI document as `ge`/`le`, not `minimum`/`maximum`. In a query model:
`Annotated[int, PlainDigits] = Field(...)`."""

_plain_signed = _written_plainly(
    r"0|-?[1-9][0-9]*",
    "write a whole number with the digits 0-9 alone, a '-' before it if negative: no '+', "
    "decimal point, leading zero, space or '_'",
)


Whole = Annotated[int, BeforeValidator(not_a_bool), BeforeValidator(_plain_signed)]
"""A request body's integer: `true` and `false` are not 1 and 0, and one sent as a string (a
form's `"2024"`, NHSA's `"-1"`) is written plainly: `"03"`, `"+3"` or `"3.0"` is a 422
`int_not_plain`, not 3; its bounds say whether it may be negative."""
