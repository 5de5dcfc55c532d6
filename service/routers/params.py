"""Parameters the routes share: a row id in the path, and for lists an optional code filter
and a capped `limit`."""

from typing import Annotated, Any

from fastapi import Depends, Path, Query

from service.base import MAX_ROW_ID
from service.deps import SettingsDep
from service.schemas import REGION_PREFIX, Code, PlainDigits

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID), PlainDigits]
"""A stored row's id in the path (a positive BIGINT) in plain digits: a larger number is a 422,
not a 500, and `03` or `3.0` a 422 `int_not_plain`, not row 3."""

CodeFilter = Annotated[Code | None, Query()]
"""An optional hospital or fund code to narrow a list to (letters, digits, `_`, `-`)."""


RegionPrefixQuery = Annotated[
    str | None, Query(pattern=REGION_PREFIX, description="Region code or its prefix")
]
"""An optional region filter: a region code or its prefix (2 to 6 digits)."""


def capped_limit(default: int, *, most: int = 200) -> Any:
    """`limit` from the query string (1 to `most`, `default` when absent), never more than the
    settings' max_page_size. Use as `Annotated[int, capped_limit(50)]`."""

    # The bound in the annotation, after which PlainDigits must come (service/schemas.py):
    # this module does not postpone annotations, which would be resolved in the module,
    # where `most` is not.
    async def limit_(
        settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=most), PlainDigits] = default
    ) -> int:
        return min(limit, settings.max_page_size)

    return Depends(limit_)
