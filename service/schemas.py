"""What the concepts' API models share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """A request body (or a model nested in one): a field it does not name is refused (422),
    never silently dropped."""

    model_config = ConfigDict(extra="forbid")


REGION_CODE = r"^[0-9]{6}$"
"""A region's own code (行政区划代码): six ASCII digits (`\\d` would take ٩٩٠١٠٢ too)."""

REGION_PREFIX = r"^[0-9]{2,6}$"
"""A region code or its prefix (province 2 digits, city 4, county 6): every filter by region
takes only digits, so a `%` or `_` never reaches a LIKE."""

CODE = r"^[A-Za-z0-9_-]+$"
"""A hospital's, fund's or rule's code: ASCII letters, digits, `_` and `-` (nothing a path, a
LIKE or a CSV cell would read as syntax)."""
