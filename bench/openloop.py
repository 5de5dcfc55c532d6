"""An open-loop load generator: requests at fixed times, latency from the scheduled time.

    python bench/openloop.py SPEC.json --rate 200 --seconds 5

SPEC is {"base", "method", "path", "headers", "body", "start", "people"}; `__N__` in path and body
becomes the request's number (start + i), `__P__` an ID number from `people`. Request i is due at
t0 + i/rate whether or not earlier requests have answered, so a slow server cannot slow the
generator down and hide its own queueing (coordinated omission). Prints one JSON line: offered
and achieved rate, p50/p95/p99/max in ms measured from the due time, errors by status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx


def render(template: str, n: int, people: list[str]) -> str:
    text = template.replace("__N__", str(n))
    if people:
        text = text.replace("__P__", people[n % len(people)])
    return text


async def run(spec: dict[str, Any], *, rate: float, seconds: float) -> dict[str, Any]:
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=10) as client:
        people = spec.get("people", [])

        async def one(i: int, due: float) -> None:
            n = spec.get("start", 0) + i
            body = render(spec["body"], n, people) if spec.get("body") else None
            try:
                response = await client.request(
                    spec["method"],
                    render(spec["path"], n, people),
                    headers=spec.get("headers", {}),
                    content=body.encode() if body is not None else None,
                )
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - due)

        # One warm-up request so connection set-up is not charged to the first due time.
        await client.get("/healthz")
        t0 = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    errors = sum(v for k, v in statuses.items() if not k.startswith("2"))
    return {
        "offered_rps": rate,
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "requests": len(latencies),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "errors": errors,
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    print(json.dumps(asyncio.run(run(spec, rate=args.rate, seconds=args.seconds))))


if __name__ == "__main__":
    main()
