"""When a roster file was extracted from the registry ("as of"), which every answer from its
snapshot reports. It is never guessed from the import time or the file's modification time: a
stale file copied today would look fresh. The operator says it (`--as-of`), or the file's name
carries it (花名册_2026-11-20.xlsx, roster20261120.csv)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from service.china_time import CHINA_TZ, day_start, local_date
from service.errors import Unprocessable

_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")


class AsOfRequired(Unprocessable):
    code = "roster_as_of_required"
    title = "When was the roster extracted?"


class AsOfInFuture(Unprocessable):
    code = "roster_as_of_in_future"
    title = "The roster is dated in the future"


# A file named on the operator's own machine may be an hour ahead; more is a typo.
FUTURE_TOLERANCE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AsOf:
    taken_at: datetime
    source: str  # "--as-of" or "the file name"


def resolve_as_of(given: str | None, path: Path) -> AsOf:
    if given:
        return AsOf(_parse(given), "--as-of")
    found = _DATE_IN_NAME.search(path.stem)
    if found is not None:
        try:
            day = date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            pass
        else:
            return AsOf(_start_of_day(day), "the file name")
    raise AsOfRequired(
        f"say when {path.name} was extracted from the registry: --as-of YYYY-MM-DD "
        "(or put the date in the file name, e.g. roster_2026-11-20.csv)",
        field="as_of",
    )


def _parse(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Unprocessable(
            f"--as-of {text[:30]!r} is not an ISO date or time", field="as_of"
        ) from None
    if len(text) == 10:  # a plain date: the start of that day in China
        return _start_of_day(moment.date())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA_TZ)


def _start_of_day(day: date) -> datetime:
    return day_start(day).astimezone(UTC)


def refuse_future(as_of: AsOf, *, now: datetime) -> None:
    """A roster dated after now is a typo, and loading it would do lasting harm: every answer
    from it would read as fresh (its age is never below zero), and every correct extract after
    it would be refused as older than the active snapshot."""
    if as_of.taken_at - now > FUTURE_TOLERANCE:
        taken_on = local_date(as_of.taken_at)
        raise AsOfInFuture(
            f"the roster is dated {taken_on:%Y-%m-%d} (from {as_of.source}), after today "
            f"({local_date(now):%Y-%m-%d}): check the date; nothing was loaded",
            field="as_of",
        )


def staleness(as_of: AsOf, *, now: datetime, stale_after_days: int) -> str | None:
    """A warning when the roster is older than the setting allows."""
    # Days and the date are counted on China's calendar, as the operator wrote --as-of: at
    # 00:30 in Beijing a UTC date would still be yesterday's, and the age one day off.
    age = now - as_of.taken_at
    taken_on = local_date(as_of.taken_at)
    if age > timedelta(days=stale_after_days):
        days = (local_date(now) - taken_on).days
        return (
            f"the roster was extracted {days} days ago ({taken_on:%Y-%m-%d}), more than "
            f"SETTLECHECK_ROSTER_STALE_AFTER_DAYS={stale_after_days}: answers from it will be "
            "that old; import a fresh extract when you can"
        )
    return None
