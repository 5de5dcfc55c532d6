"""China Standard Time (UTC+8, no daylight saving), defined once.

Instants are stored as aware UTC; policies, bills, plan years, validity windows and date
filters are calendar days in China. Turn one into the other only here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from service.base import utcnow

__all__ = ["CHINA_TZ", "day_start", "local_date", "shown", "today"]

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def local_date(at: datetime) -> date:
    """The calendar day in China of an aware instant."""
    return at.astimezone(CHINA_TZ).date()


def day_start(day: date) -> datetime:
    """The instant a China calendar day begins (00:00 CST)."""
    return datetime.combine(day, time(), CHINA_TZ)


def shown(at: datetime) -> str:
    """An instant as a message shows it: China time, ISO 8601 with its offset
    (`2026-11-24T09:00:00+08:00`), whatever zone it was stored or sent in, so that two
    instants in one message are read alike."""
    return at.astimezone(CHINA_TZ).isoformat()


def to_the_minute(at: datetime | None) -> str:
    """An instant as a page or a printed slip shows it: China time to the minute
    (`2026-11-30 18:28`); nothing for no instant."""
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def today() -> date:
    """Today in China."""
    return local_date(utcnow())
