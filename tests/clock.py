"""The instant `--clock` moves the suite to (tests/conftest.py, ADR 0031)."""

from __future__ import annotations

from datetime import UTC, datetime

NEXT_YEAR_END = "next-year-end"


def travel_target(option: str, *, now: datetime) -> datetime:
    """An ISO 8601 instant as given, or for `next-year-end` 16:30 UTC on the first 31 December
    not yet past: UTC still in the old year, China (UTC+8) already in the new one."""
    if option != NEXT_YEAR_END:
        return datetime.fromisoformat(option)
    this_year = datetime(now.year, 12, 31, 16, 30, tzinfo=UTC)
    return this_year if now < this_year else this_year.replace(year=now.year + 1)
