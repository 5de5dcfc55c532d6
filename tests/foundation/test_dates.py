"""The plausible window, as plain values: the floor and the skew come from the settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from service.dates import DateWindow, ImplausibleDate
from service.settings import Settings

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _window(**settings: object) -> DateWindow:
    return DateWindow.of(Settings(**settings))  # type: ignore[arg-type]


def test_the_skew_and_floor_are_settings() -> None:
    window = _window(clock_skew_seconds=60, earliest_event_date=date(2020, 1, 1))
    window.moment(NOW + timedelta(seconds=60), field="x", now=NOW)
    with pytest.raises(ImplausibleDate):
        window.moment(NOW + timedelta(seconds=61), field="x", now=NOW)
    window.moment(datetime(2019, 12, 31, 16, 0, tzinfo=UTC), field="x", now=NOW)  # 00:00 China
    with pytest.raises(ImplausibleDate) as refused:
        window.moment(datetime(2019, 12, 31, 15, 59, tzinfo=UTC), field="admitted_at", now=NOW)
    assert refused.value.errors[0].field == "admitted_at"


def test_a_day_may_be_today_in_china_but_not_tomorrow() -> None:
    window = _window(clock_skew_seconds=0)
    late_evening_utc = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # 01:00 on the 30th in China
    assert window.day(date(2026, 11, 30), field="on", now=late_evening_utc)
    with pytest.raises(ImplausibleDate):
        window.day(date(2026, 12, 1), field="on", now=late_evening_utc)


def test_a_deposit_lies_inside_the_stay() -> None:
    window = _window(clock_skew_seconds=300)
    admitted, discharged = NOW - timedelta(days=5), NOW - timedelta(days=1)
    stay = {"admitted_at": admitted, "discharged_at": discharged, "now": NOW}
    window.deposit(admitted - timedelta(minutes=5), **stay)
    window.deposit(discharged + timedelta(minutes=5), **stay)
    for outside in (admitted - timedelta(minutes=6), discharged + timedelta(minutes=6)):
        with pytest.raises(ImplausibleDate):
            window.deposit(outside, **stay)
