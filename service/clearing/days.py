"""A hospital's totals over a run of days, every fund together: what its HIS checks against at
the end of a day (NHSA 3201 对总账).

The days are China calendar days, read as the fund statements read a month: a settlement counts
on the day it was made, its reversal negated on the day of the reversal, so a settlement reversed
the same day nets to zero and one reversed later corrects the later day (docs/clearing.md).
Nothing is stored.
"""

from __future__ import annotations

from datetime import date, timedelta

from service.china_time import day_start
from service.clearing.errors import PeriodTooLong
from service.clearing.lines import HospitalTotals
from service.dates import ordered_period
from service.unit_of_work import UnitOfWork

MAX_DAYS = 366
"""A year, a leap day included: the longest run one comparison reads."""


def checked_days(first: date, last: date, *, field: str) -> None:
    """`last` not before `first`, and at most MAX_DAYS days in all; else a problem naming
    `field` (the last day's)."""
    ordered_period(first, last, field=field)
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise PeriodTooLong(
            f"{first.isoformat()} to {last.isoformat()} is {days} days; compare at most "
            f"{MAX_DAYS} days at once",
            field=field,
        )


async def hospital_totals(
    uow: UnitOfWork, *, hospital_code: str, first: date, last: date, field: str
) -> HospitalTotals:
    """The hospital's totals from `first` to `last` (inclusive, China time)."""
    checked_days(first, last, field=field)
    return await uow.clearing.hospital_totals(
        hospital_code=hospital_code,
        since=day_start(first),
        until=day_start(last + timedelta(days=1)),
    )
