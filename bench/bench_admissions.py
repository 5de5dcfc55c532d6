"""Admissions per second with a warm cache, as a ratio of the same app's /healthz, in one run.

    python bench/bench_admissions.py                       # SQLite in a temp dir, in-process
    python bench/bench_admissions.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_b

The app runs in-process over httpx's ASGI transport (no sockets: the ratio compares our work,
not the HTTP server); the registry is the stand-in, also in-process. Each admission is a new
visit of an already-looked-up person, so the registry is not called (the cache answers) and every
request writes one admission (and its findings) with a durable commit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def _drive(client: httpx.AsyncClient, make: Any, seconds: float, workers: int) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            method, url, kwargs = make(n, i)
            response = await client.request(method, url, **kwargs)
            if response.status_code >= 400:
                raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
            done += 1
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    return done / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="admission-bench-"))
    os.chdir(workdir)
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    from service.app import create_app
    from service.demo import demo_keys_file
    from service.registry import build_registry_client
    from service.registry.standin import standin_app
    from service.settings import Settings

    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=args.redis_url,
        auto_migrate=True,
        demo_data=True,
        registry_url="http://standin",
        log_level="WARNING",
        rate_limit_per_minute=0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.registry_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=standin_app()), base_url="http://standin"
        )
        app.state.registry = build_registry_client(app.state.registry_http, settings)
        import json

        keys = json.loads((workdir / demo_keys_file(url)).read_text())["keys"]
        headers = {"X-API-Key": next(v for k, v in keys.items() if k.startswith("hospital"))}
        from service.roster.demo import demo_people

        people = [p.id_number for p in demo_people()][:50]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:

            def admission(n: int, i: int) -> tuple[str, str, dict[str, Any]]:
                body = {
                    "visit_id": f"B-{n}-{i}",
                    "id_number": people[(n * 7 + i) % len(people)],
                    "name": "测试",
                    "admitted_at": "2026-03-10T08:00:00+08:00",
                    "visit_type": "inpatient",
                    "insured_county": "990102",
                }
                return "POST", "/v1/admissions", {"json": body, "headers": headers}

            for i, person in enumerate(people):  # warm the cache
                await client.post(
                    "/v1/admissions",
                    json=admission(999, i)[2]["json"] | {"id_number": person},
                    headers=headers,
                )
            healthz = await _drive(
                client, lambda n, i: ("GET", "/healthz", {}), args.seconds, args.workers
            )
            admissions = await _drive(client, admission, args.seconds, args.workers)
    dialect = url.split(":", 1)[0]
    print(
        f"database: {dialect}, cache: {'redis' if args.redis_url else 'memory'}, "
        f"{args.workers} concurrent clients, {args.seconds:g}s each"
    )
    print(f"/healthz:        {healthz:8,.0f} req/s")
    print(
        f"POST admissions: {admissions:8,.0f} req/s (warm cache) = {admissions / healthz:.0%} "
        "of /healthz (target >= 20%)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
