"""Registry answers this process has decoded lately, in front of the shared cache.

A person is looked up several times around one stay (status check, admission, deposit report):
keeping the decoded answer here spares each repeat a cache round trip and a decode. An answer
is kept no longer than the shared cache keeps it (`ttl_seconds` after the registry gave it,
and never past the end of the China day it was given on: `good_until`), and only answers are
kept, as in the shared cache. Bounded: the least recently used go first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta

from service.china_time import day_start, local_date
from service.persons.person_status import PersonStatus, Source


def good_until(answered_at: datetime, ttl_seconds: float) -> float:
    """When an answer given at `answered_at` stops answering (a POSIX time): `ttl_seconds`
    later, or at the next China midnight if that comes first. The registry answers for the
    day it is asked on; a category granted to 31 December may be renewed for the new year at
    midnight, and yesterday's answer would then call a covered patient not eligible."""
    midnight = day_start(local_date(answered_at) + timedelta(days=1))
    return min(answered_at.timestamp() + ttl_seconds, midnight.timestamp())


class RecentAnswers:
    def __init__(self, *, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, PersonStatus]] = OrderedDict()

    def get(self, person_key: str) -> PersonStatus | None:
        item = self._items.get(person_key)
        if item is None:
            return None
        expires_at, status = item
        if expires_at <= time.time():
            del self._items[person_key]
            return None
        self._items.move_to_end(person_key)
        return status

    def put(self, person_key: str, status: PersonStatus) -> None:
        if self.ttl_seconds <= 0 or status.answered_at is None:
            return
        expires_at = good_until(status.answered_at, self.ttl_seconds)
        if expires_at <= time.time():
            return
        self._items[person_key] = (expires_at, replace(status, source=Source.CACHE))
        self._items.move_to_end(person_key)
        if len(self._items) > self.max_entries:
            self._items.popitem(last=False)
