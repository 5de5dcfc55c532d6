"""The plausible window for the dates a caller sends (docs/decisions/0012).

An event (admission, deposit, discharge) happened, so it lies between the floor (the first day
the service can hold anything for: `SETTLECHECK_EARLIEST_EVENT_DATE`) and the server's clock
plus the callers' allowed clock skew (`SETTLECHECK_CLOCK_SKEW_SECONDS`). A deposit lies inside
the stay. Query filters are not events: they may ask about any day of a documented range
(FILTER_FIRST_DAY to FILTER_LAST_DAY), and `from` may not come after `to`.

Everything outside is a 422 `implausible_date` naming the field, before anything is read or
written: a year-2999 discharge would otherwise open that year's accumulators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from service.base import utcnow
from service.china_time import day_start, local_date, shown
from service.errors import Unprocessable
from service.settings import Settings

FILTER_FIRST_DAY = date(2000, 1, 1)
FILTER_LAST_DAY = date(2099, 12, 31)
# The years a request may name: those of the days it may name.
FIRST_YEAR, LAST_YEAR = FILTER_FIRST_DAY.year, FILTER_LAST_DAY.year


class ImplausibleDate(Unprocessable):
    code = "implausible_date"
    title = "A date nobody can have"


@dataclass(frozen=True, slots=True)
class DateWindow:
    """From the floor (a China-time day) to now plus the clock skew."""

    earliest: date
    clock_skew: timedelta

    @classmethod
    def of(cls, settings: Settings) -> DateWindow:
        return cls(settings.earliest_event_date, timedelta(seconds=settings.clock_skew_seconds))

    def _start(self) -> datetime:
        return day_start(self.earliest)

    def latest(self, now: datetime | None = None) -> datetime:
        return (now or utcnow()) + self.clock_skew

    def moment(self, at: datetime, *, field: str, now: datetime | None = None) -> datetime:
        """`at`, if an event can have happened then; else ImplausibleDate naming `field`."""
        if at > self.latest(now):
            raise ImplausibleDate(
                f"{field} is in the future: more than {self._skew()} after the server's clock",
                field=field,
            )
        if at < self._start():
            raise ImplausibleDate(
                f"{field} is before {self.earliest.isoformat()}, the earliest date the "
                "service holds",
                field=field,
            )
        return at

    def day(self, on: date, *, field: str, now: datetime | None = None) -> date:
        """A calendar day (China time) that has come and is not before the floor."""
        if on < self.earliest or on > local_date(self.latest(now)):
            raise ImplausibleDate(
                f"{field} must be a day from {self.earliest.isoformat()} to today",
                field=field,
            )
        return on

    def deposit(
        self,
        taken_at: datetime,
        *,
        admitted_at: datetime,
        discharged_at: datetime | None,
        field: str = "taken_at",
        now: datetime | None = None,
    ) -> datetime:
        """A deposit taken during the stay: from the admission (less the clock skew, as the
        desk may take it a moment before the HIS records the admission) to the discharge."""
        self.moment(taken_at, field=field, now=now)
        if taken_at < admitted_at - self.clock_skew:
            raise ImplausibleDate(
                f"{field} is before the admission at {shown(admitted_at)}", field=field
            )
        if discharged_at is not None and taken_at > discharged_at + self.clock_skew:
            raise ImplausibleDate(
                f"{field} is after the discharge at {shown(discharged_at)}", field=field
            )
        return taken_at

    def _skew(self) -> str:
        return f"{int(self.clock_skew.total_seconds())} s"


def _documented(day: date) -> bool:
    return FILTER_FIRST_DAY <= day <= FILTER_LAST_DAY


def _filter_day(value: date) -> date:
    if not _documented(value):
        raise PydanticCustomError(
            "implausible_date",
            "a filter date lies from {first} to {last}",
            {"first": FILTER_FIRST_DAY.isoformat(), "last": FILTER_LAST_DAY.isoformat()},
        )
    return value


FilterDay = Annotated[date, AfterValidator(_filter_day)]
"""A day in a query filter: inside the documented range, so `day + 1` and the China-time
midnight of it can always be computed (0001-01-01 and 9999-12-31 overflow)."""


def documented_day(on: date, *, field: str) -> date:
    """A day a stored date may name (a policy version's validity): inside the documented
    range, so the day before and after it can be computed; else ImplausibleDate naming `field`."""
    if not _documented(on):
        raise ImplausibleDate(
            f"{field} lies from {FILTER_FIRST_DAY.isoformat()} to {FILTER_LAST_DAY.isoformat()}",
            field=field,
        )
    return on


def ordered_period(first: date | None, last: date | None, *, field: str) -> None:
    """A period's first day is not after its last day."""
    if first is not None and last is not None and first > last:
        raise ImplausibleDate(f"{field} is before the first day of the period", field=field)
