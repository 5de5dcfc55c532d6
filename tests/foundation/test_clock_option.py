"""`--clock` (ADR 0031): where the travelled suite starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.china_time import local_date
from tests.clock import NEXT_YEAR_END, travel_target


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 30, 16, 9, tzinfo=UTC), datetime(2026, 12, 31, 16, 30, tzinfo=UTC)),
        (datetime(2026, 12, 31, 16, 29, tzinfo=UTC), datetime(2026, 12, 31, 16, 30, tzinfo=UTC)),
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), datetime(2027, 12, 31, 16, 30, tzinfo=UTC)),
        (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), datetime(2027, 12, 31, 16, 30, tzinfo=UTC)),
    ],
)
def test_next_year_end_is_the_coming_one(now: datetime, expected: datetime) -> None:
    instant = travel_target(NEXT_YEAR_END, now=now)
    assert instant == expected
    assert instant.year == local_date(instant).year - 1  # UTC in the old year, China in the new
    assert local_date(instant - timedelta(hours=1)).year == instant.year


def test_an_instant_is_taken_as_given() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    given = travel_target("2027-02-28T16:30:00+00:00", now=now)
    assert given == datetime(2027, 2, 28, 16, 30, tzinfo=UTC)
