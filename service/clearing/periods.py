"""Clearing periods: calendar months in China time (UTC+8), written `YYYY-MM`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from service.china_time import CHINA_TZ

_PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period | None:
        match = _PERIOD.match(text)
        if match is None or not 2000 <= int(match.group(1)) <= 2999:
            return None
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Period:
        local = moment.astimezone(CHINA_TZ)
        return cls(local.year, local.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=CHINA_TZ)

    @property
    def end(self) -> datetime:
        """The start of the next period (exclusive end)."""
        return self.next().start

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
