"""China time is defined once (service/china_time.py): policies, bills, plan years and date
filters are calendar days in China Standard Time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import service
from service.china_time import CHINA_TZ, day_start, local_date, shown

SERVICE = Path(service.__file__).parent


def test_the_local_date_of_an_instant_is_the_day_in_china() -> None:
    assert local_date(datetime(2024, 12, 31, 15, 59, tzinfo=UTC)) == date(2024, 12, 31)
    assert local_date(datetime(2024, 12, 31, 16, 0, tzinfo=UTC)) == date(2025, 1, 1)


def test_a_day_starts_at_midnight_china_time() -> None:
    start = day_start(date(2025, 1, 1))
    assert start == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
    assert start.utcoffset() == timedelta(hours=8) == CHINA_TZ.utcoffset(None)


def test_no_other_module_defines_the_china_time_zone() -> None:
    offset = re.compile(r"timedelta\(hours=8\)|Asia/Shanghai")
    defining = {
        str(path.relative_to(SERVICE))
        for path in SERVICE.rglob("*.py")
        if offset.search(path.read_text(encoding="utf-8"))
    }
    assert defining == {"china_time.py"}


def test_an_instant_is_shown_in_china_time_whatever_its_zone() -> None:
    stored = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert shown(stored) == "2026-11-24T09:00:00+08:00"
    assert shown(stored.astimezone(timezone(timedelta(hours=-5)))) == shown(stored)


def test_every_instant_comes_from_python_not_from_the_database() -> None:
    """The travelled suite (`--clock`, ADR 0031) moves Python's clocks only: a `now()` or
    CURRENT_TIMESTAMP read in SQL, or a server default, would keep the real time and split one
    request's instants between two clocks."""
    database_clock = re.compile(  # SQL's now(), not Python's utcnow() or datetime.now()
        r"(?<![\w.])now\(\)|func\.now|current_(timestamp|date|time)\b|localtimestamp",
        re.IGNORECASE,
    )
    sources = [*SERVICE.rglob("*.py"), *(SERVICE.parent / "alembic").rglob("*.py")]
    reading = {
        str(path.relative_to(SERVICE.parent))
        for path in sources
        for line in path.read_text(encoding="utf-8").splitlines()
        if database_clock.search(line)
    }
    assert reading == set()
