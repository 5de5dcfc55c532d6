"""Per-key rate limiting: a fixed one-minute window per API key, counted in the cache.

With Redis configured the count is shared by every worker and replica (one INCR + EXPIRE in a
pipeline per request). Without Redis each worker counts on its own, so the effective limit is
the setting times the number of workers. When Redis is down the count is unknown and the request
is let through: a cache outage may cost protection for a few seconds, never a request
(docs/decisions/0006-rate-limits-and-hostile-input.md).
"""

from __future__ import annotations

import math
import time

from service.cache import Cache
from service.errors import RateLimited

WINDOW_SECONDS = 60


def retry_after_seconds(now: float, window_seconds: int = WINDOW_SECONDS) -> int:
    """Whole seconds until the current fixed window ends (at least 1)."""
    return max(1, math.ceil(window_seconds - (now % window_seconds)))


async def enforce_key_limit(cache: Cache, *, key_id: int, per_minute: int) -> None:
    """Count one request for this key; raise `rate_limited` (429, Retry-After) past the limit.

    `per_minute` 0 turns the limit off."""
    if per_minute <= 0:
        return
    count = await cache.hit_window(f"ratelimit:key:{key_id}", WINDOW_SECONDS)
    if count is None or count <= per_minute:
        return
    retry = retry_after_seconds(time.time())
    raise RateLimited(
        f"this API key is limited to {per_minute} requests per minute; retry in {retry} s",
        headers={
            "Retry-After": str(retry),
            "RateLimit-Limit": str(per_minute),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(retry),
        },
    )
