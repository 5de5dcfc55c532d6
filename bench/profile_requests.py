"""CPU per request of the hot paths, in process: raw ASGI calls to the app, no HTTP server.

    .venv/bin/python bench/profile_requests.py                      # every path, SQLite
    .venv/bin/python bench/profile_requests.py status settlement -n 2000 --profile 30
    .venv/bin/python bench/profile_requests.py --database-url postgresql+psycopg://...

For each path it prints the process CPU time per request (`time.process_time`, which a loaded
machine disturbs far less than the wall clock), the wall time, the Python function calls per
request (cProfile's count, which no load disturbs at all), and the SQL statements per request
sent to the driver (BEGIN and COMMIT not counted, as tests/unit_of_work/test_statement_budget.py
counts them). With `--profile K` it also prints the K functions with the largest cumulative
time. The paths:

- `healthz`: the bare endpoint, the app's floor;
- `status`: `GET /v1/persons/{id}/status`, warm (the registry answer already in process);
- `admission`: `POST /v1/admissions`, a new visit each time, people already looked up;
- `settlement`: `POST /v1/settlements`, a new admitted visit of its own person each time;
- `settlement-summary`: the same with `?trace=summary`.

The registry is mocked in process (respx). SQLite gives the framework's and our code's cost
with a cheap driver under it; PostgreSQL (`--database-url`, a database this run may drop and
recreate the schema of) adds psycopg's and the round trips'.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import respx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from service.app import create_app  # noqa: E402
from service.auth import Role  # noqa: E402
from service.auth.keys import issue_key  # noqa: E402
from tests import factories as f  # noqa: E402

PATHS = ("healthz", "status", "admission", "settlement", "settlement-summary")
PEOPLE = 50

Call = Callable[[int], Awaitable[tuple[int, bytes]]]


async def asgi(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    path, _, query = path.partition("?")
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"host", b"bench"))
    if body:
        raw += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    await app(scope, receive, send)
    return out[0]["status"], b"".join(m.get("body", b"") for m in out[1:])


async def seed_visits(maker: Any, prefix: str, count: int) -> None:
    """Admitted visits of distinct people, as bench/run.py seeds them."""
    from service.admissions.models import Admission
    from service.base import table_of

    now = datetime.now(UTC)
    rows = [
        {
            "hospital_code": f.COUNTY_HOSPITAL,
            "county_code": f.COUNTY,
            "visit_id": f"{prefix}{i}",
            "person_key": hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest(),
            "person_masked": "990102********0000",
            "name_masked": "张*",
            "insured_county": f.COUNTY,
            "visit_type": "inpatient",
            "admitted_at": datetime(2024, 3, 1, tzinfo=UTC),
            "location": "in_county",
            "referred": False,
            "categories": ["registered_poor"],
            "eligible": True,
            "eligibility": {},
            "deposit_intended_fen": 0,
            "deposit_taken_fen": 0,
            "status_source": "registry",
            "request_hash": "0" * 64,
            "response": {},
            "state": "admitted",
            "created_at": now,
        }
        for i in range(count)
    ]
    async with maker() as session:
        for start in range(0, len(rows), 2000):
            conn = await session.connection()
            await conn.execute(sa.insert(table_of(Admission)), rows[start : start + 2000])
        await session.commit()


def callers(app: Any, headers: dict[str, str], people: list[str]) -> dict[str, Call]:
    settle_body = f.settlement_request("X")

    async def healthz(i: int) -> tuple[int, bytes]:
        return await asgi(app, "GET", "/healthz", {})

    async def status(i: int) -> tuple[int, bytes]:
        return await asgi(app, "GET", f"/v1/persons/{people[0]}/status", headers)

    async def admission(i: int) -> tuple[int, bytes]:
        body = f.admission_request(visit_id=f"PA-{i}", id_number=people[i % len(people)])
        return await asgi(app, "POST", "/v1/admissions", headers, json.dumps(body).encode())

    def settlement(prefix: str, query: str) -> Call:
        async def call(i: int) -> tuple[int, bytes]:
            body = {**settle_body, "visit_id": f"{prefix}{i}", "his_settlement_id": f"S{i}"}
            return await asgi(
                app, "POST", f"/v1/settlements{query}", headers, json.dumps(body).encode()
            )

        return call

    return {
        "healthz": healthz,
        "status": status,
        "admission": admission,
        "settlement": settlement("PS", ""),
        "settlement-summary": settlement("PT", "?trace=summary"),
    }


async def measure(
    name: str, call: Call, n: int, start: int, profile: int, dump: str | None, engine: Any
) -> dict[str, Any]:
    for i in range(start, start + 20):  # warm: caches, compiled statements, pool
        status, body = await call(i)
        if status >= 300:
            raise SystemExit(f"{name}: {status} {body[:300]!r}")
    start += 20
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(start, start + n):
        await call(i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    start += n
    executed = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal executed  # as tests/unit_of_work/test_statement_budget.py counts them
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            executed += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for i in range(start, start + n):
        await call(i)
    profiler.disable()
    sa.event.remove(engine, "before_cursor_execute", count)
    if dump:
        profiler.dump_stats(f"{dump}.{name}.prof")
    stats = pstats.Stats(profiler)
    result = {
        "path": name,
        "cpu_us": cpu / n * 1e6,
        "wall_us": wall / n * 1e6,
        "calls": stats.total_calls / n,  # type: ignore[attr-defined]
        "statements": executed / n,
        "bytes": len(body),
    }
    if profile:
        print(f"\n--- {name}: top {profile} by cumulative time ({n} requests) ---")
        stats.sort_stats("cumulative").print_stats(profile)
        shares = by_library(stats)
        total = sum(shares.values())
        print(f"--- {name}: own time by library ---")
        for library, spent in sorted(shares.items(), key=lambda item: -item[1]):
            print(f"  {library:<24} {spent / total:6.1%}")
    return result


LIBRARIES = (
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "aiosqlite",
    "anyio",
    "greenlet",
    "prometheus_client",
)


def by_library(stats: pstats.Stats) -> dict[str, float]:
    """Own (not cumulative) time summed by where the function lives."""
    shares: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        if "/site-packages/" in filename:
            package = filename.split("/site-packages/")[1].split("/")[0].removesuffix(".py")
            library = package if package in LIBRARIES else "other libraries"
        elif f"{ROOT}/service/" in filename:
            part = filename.split(f"{ROOT}/service/")[1]
            library = "service/policy (engine)" if part.startswith("policy/") else "service (ours)"
        elif "logging" in filename:
            library = "logging"
        elif (
            "asyncio" in filename or "selectors" in filename or function.startswith("<method 'poll")
        ):
            library = "asyncio (event loop)"
        elif filename == "~":
            library = "builtins"
        else:
            library = "other (stdlib, bench)"
        shares[library] = shares.get(library, 0.0) + own
    return shares


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=f"any of {', '.join(PATHS)} (default: all)")
    parser.add_argument("-n", type=int, default=1000, help="requests per path (default 1000)")
    parser.add_argument("--profile", type=int, default=0, metavar="K", help="print top K")
    parser.add_argument("--dump", metavar="PREFIX", help="save each profile as PREFIX.path.prof")
    parser.add_argument("--database-url", help="PostgreSQL (its schema is recreated)")
    args = parser.parse_args()
    paths = args.paths or list(PATHS)
    if unknown := set(paths) - set(PATHS):
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")

    if args.database_url:
        url = args.database_url
        sync = sa.create_engine(url)
        SQLModel.metadata.drop_all(sync)
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/profile.db"
        sync = sa.create_engine(url.replace("+aiosqlite", ""))
    SQLModel.metadata.create_all(sync)
    sync.dispose()

    settings = f.make_settings(url, auth_cache_seconds=60, redis_url=None, rate_limit_per_minute=0)
    app = create_app(settings)
    per_path = 2 * args.n + 40
    async with app.router.lifespan_context(app):
        maker = app.state.sessionmaker
        await f.seed_regions(maker)
        await f.seed_shipped_policies(maker)
        for prefix in ("PS", "PT"):
            await seed_visits(maker, prefix, per_path)
        async with maker() as session:
            key = await issue_key(session, role=Role.HOSPITAL, hospital_code=f.COUNTY_HOSPITAL)
            await session.commit()
        headers = {"X-API-Key": key.token}
        people = [f.resident_id(seq=100 + i) for i in range(PEOPLE)]
        table = callers(app, headers, people)
        with respx.mock(base_url=f.REGISTRY_URL, assert_all_called=False) as registry:
            registry.get(url__regex=".*").mock(
                return_value=httpx.Response(200, json=f.registry_person())
            )
            for person in people:  # warm: every person's answer in process
                await asgi(app, "GET", f"/v1/persons/{person}/status", headers)
            results = [
                await measure(
                    name,
                    table[name],
                    args.n,
                    0,
                    args.profile,
                    args.dump,
                    app.state.engine.sync_engine,
                )
                for name in paths
            ]
    driver = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{driver}, {args.n} requests per path, load average {_load()}")
    print(
        f"{'path':<20} {'CPU µs/req':>11} {'wall µs/req':>12} {'calls/req':>10} "
        f"{'SQL/req':>8} {'bytes':>7}"
    )
    for r in results:
        print(
            f"{r['path']:<20} {r['cpu_us']:>11.0f} {r['wall_us']:>12.0f} "
            f"{r['calls']:>10.0f} {r['statements']:>8.2f} {r['bytes']:>7}"
        )
    floor = next((r["cpu_us"] for r in results if r["path"] == "healthz"), None)
    if floor:
        print(
            "healthz CPU as a share of each path's: "
            + ", ".join(
                f"{r['path']} {floor / r['cpu_us']:.0%}" for r in results if r["path"] != "healthz"
            )
        )


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


if __name__ == "__main__":
    asyncio.run(main())
