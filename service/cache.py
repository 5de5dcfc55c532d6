"""A small cache interface with two backends: Redis when configured, in-process otherwise.

Every Redis failure is swallowed into a miss: the cache may cost latency, never a request.
After a failure the Redis backend stays out of the path for a cool-down, so a black-holed
Redis does not add its timeout to every request.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger("settlecheck.cache")


class Cache(Protocol):
    backend: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def hit_window(self, key: str, window_seconds: int, hits: int = 1) -> int | None:
        """Add hits to the current fixed window and return its count (None: unknown)."""
        ...

    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class MemoryCache:
    backend = "memory"

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        self._data[key] = (time.monotonic() + ttl_seconds, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def hit_window(self, key: str, window_seconds: int, hits: int = 1) -> int | None:
        bucket = f"{key}:{int(time.time() // window_seconds)}"
        current = await self.get(bucket)
        count = int(current or b"0") + hits
        await self.set(bucket, str(count).encode(), window_seconds)
        return count

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    backend = "redis"

    def __init__(self, url: str, *, timeout_seconds: float, cooldown_seconds: float = 5.0) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self._cooldown = cooldown_seconds
        self._down_until = 0.0

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        log.warning("redis unavailable, serving without it: %s", type(exc).__name__)
        self._down_until = time.monotonic() + self._cooldown

    async def get(self, key: str) -> bytes | None:
        if not self._available():
            return None
        try:
            value = await self._redis.get(key)
        except Exception as exc:  # any Redis failure is a miss, by design
            self._failed(exc)
            return None
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds <= 0 or not self._available():
            return
        try:
            await self._redis.set(key, value, px=int(ttl_seconds * 1000))
        except Exception as exc:
            self._failed(exc)

    async def delete(self, key: str) -> None:
        if not self._available():
            return
        try:
            await self._redis.delete(key)
        except Exception as exc:
            self._failed(exc)

    async def hit_window(self, key: str, window_seconds: int, hits: int = 1) -> int | None:
        if not self._available():
            return None
        bucket = f"{key}:{int(time.time() // window_seconds)}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(bucket, hits)
                pipe.expire(bucket, window_seconds + 1)
                count, _ = await pipe.execute()
        except Exception as exc:
            self._failed(exc)
            return None
        return int(count)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception as exc:
            self._failed(exc)
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def create_cache(redis_url: str | None, *, timeout_seconds: float) -> Cache:
    if redis_url:
        return RedisCache(redis_url, timeout_seconds=timeout_seconds)
    return MemoryCache()
