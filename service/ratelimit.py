"""Per-key rate limiting: a fixed one-minute window per API key, counted in the cache.

Each process counts a key's hits itself and adds them to the shared count (Redis when
configured, shared by every worker and replica) in steps, one INCRBY + EXPIRE per `step` hits:
a busy key costs the cache one round trip per few requests, not one per request. The price is
a bounded overshoot: each process may let `step - 1` hits past the limit before the shared
count shows them (step = limit / 1000, so 5 at the default 6,000 a minute). Without Redis each
worker counts on its own, so the effective limit is the setting times the number of workers.
When Redis is down the shared count is unknown and each process holds the limit on its own count,
as it would without Redis: a cache outage loosens the limit to the setting per process, never
lifts it, and refuses no request the shared count would have let through (a process's own hits
are never more than the shared count) (docs/decisions/0006-rate-limits-and-hostile-input.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from service.cache import Cache
from service.errors import RateLimited

WINDOW_SECONDS = 60


def retry_after_seconds(now: float, window_seconds: int = WINDOW_SECONDS) -> int:
    """Whole seconds until the current fixed window ends (at least 1)."""
    return max(1, math.ceil(window_seconds - (now % window_seconds)))


@dataclass(slots=True)
class _Window:
    number: int  # minutes since the epoch
    shared: int = 0  # the shared count when this process last added to it
    pending: int = 0  # hits counted here and not yet added


class KeyRateLimiter:
    def __init__(self, cache: Cache, *, per_minute: int, max_keys: int = 10_000) -> None:
        self.cache = cache
        self.per_minute = per_minute
        self.step = max(1, per_minute // 1000)
        self.max_keys = max_keys
        self._windows: dict[int, _Window] = {}

    async def hit(self, key_id: int) -> None:
        """Count one request for this key; raise `rate_limited` (429, Retry-After) past the
        limit. A limit of 0 turns limiting off."""
        if self.per_minute <= 0:
            return
        now = time.time()
        window = self._window(key_id, int(now // WINDOW_SECONDS))
        window.pending += 1
        if window.pending >= self.step or window.shared + window.pending > self.per_minute:
            # The hits leave `pending` before the round trip: a request of this process that
            # arrives meanwhile adds only its own (each was added again by every later one,
            # so a burst of n concurrent requests counted about n²/2).
            hits, window.pending = window.pending, 0
            shared = await self.cache.hit_window(
                f"ratelimit:key:{key_id}", WINDOW_SECONDS, hits=hits
            )
            # None: the shared count is unknown (Redis down); the hits go back to pending,
            # counted here, and are added to the shared count once Redis answers again.
            if shared is None:
                window.pending += hits
            else:
                # Answers may come back out of order; the count only grows within a window.
                window.shared = max(window.shared, shared)
                # This request is judged on its own place in the shared count: hits that
                # arrived after it (pending here, or a later answer) are not counted against it.
                if shared > self.per_minute:
                    raise self._refusal(now)
                return
        if window.shared + window.pending > self.per_minute:
            raise self._refusal(now)

    def _window(self, key_id: int, number: int) -> _Window:
        window = self._windows.get(key_id)
        if window is None or window.number != number:
            if len(self._windows) >= self.max_keys:
                self._windows = {k: w for k, w in self._windows.items() if w.number == number}
            window = self._windows[key_id] = _Window(number)
        return window

    def _refusal(self, now: float) -> RateLimited:
        retry = retry_after_seconds(now)
        return RateLimited(
            f"this API key is limited to {self.per_minute} requests per minute; retry in {retry} s",
            headers={
                "Retry-After": str(retry),
                "RateLimit-Limit": str(self.per_minute),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry),
            },
        )
