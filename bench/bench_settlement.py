"""Settlements per second end to end on PostgreSQL, as a ratio against /healthz in the same run.

Plain script:
    python bench/bench_settlement.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--seconds 8] [--concurrency 32] [--port 8765]

It creates a scratch database (settlecheck_bench_settlement), migrates it to head, seeds the demo
regions, the shipped policies, a hospital key and one admitted visit per request it may send
(distinct people, so the figure is throughput, not lock queueing), starts uvicorn with one
worker, then drives /healthz and POST /v1/settlements with the same client and concurrency.
Prints requests/s, p50 and p99 latency, errors, and the settlement/healthz ratio; drops the
scratch database at the end. The load generator shares the machine with the server: read the
ratio, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.admissions.models import Admission  # noqa: E402
from service.auth import Role  # noqa: E402
from service.auth.keys import issue_key  # noqa: E402
from service.base import table_of  # noqa: E402
from service.demo import DEMO_HOSPITALS, DEMO_REGIONS  # noqa: E402
from service.migrations import alembic_config  # noqa: E402
from service.policy_versions.shipped import shipped_versions  # noqa: E402

DB = "settlecheck_bench_settlement"
HOSPITAL = "H990102002"


def _sync(url: str) -> str:
    return url.replace("+psycopg", "+psycopg")


def _recreate(admin_url: str) -> str:
    engine = sa.create_engine(_sync(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DB}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{DB}"


def _drop(admin_url: str) -> None:
    engine = sa.create_engine(_sync(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
    engine.dispose()


async def _seed(url: str, visits: int) -> str:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlmodel.ext.asyncio.session import AsyncSession

    engine = create_async_engine(url)
    maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with maker() as s:
        s.add_all([r.model_copy() for r in DEMO_REGIONS])
        s.add_all([h.model_copy() for h in DEMO_HOSPITALS])
        s.add_all(shipped_versions(loaded_by="bench"))
        issued = await issue_key(s, role=Role.HOSPITAL, hospital_code=HOSPITAL, label="bench")
        await s.commit()
    rows = [
        {
            "hospital_code": HOSPITAL,
            "county_code": "990102",
            "visit_id": f"B{i:07d}",
            "person_key": hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
            "person_masked": "990102********0000",
            "name_masked": "张*",
            "insured_county": "990102",
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
            "created_at": datetime.now(UTC),
        }
        for i in range(visits)
    ]
    table = table_of(Admission)
    async with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(sa.insert(table), rows[start : start + 5000])
    await engine.dispose()
    return issued.token


async def _drive(
    base: str, make: object, *, seconds: float, concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            method, path, kwargs = make(next(counter))  # type: ignore[operator]
            t0 = time.perf_counter()
            response = await client.request(method, path, **kwargs)
            latencies.append(time.perf_counter() - t0)
            if response.status_code >= 300:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--visits", type=int, default=30_000)
    args = parser.parse_args()

    url = _recreate(args.url)
    from alembic import command

    command.upgrade(alembic_config(url), "head")  # the schema as production builds it
    token = asyncio.run(_seed(url, args.visits))
    env = {
        **os.environ,
        "SETTLECHECK_DATABASE_URL": url,
        "SETTLECHECK_ENVIRONMENT": "development",
        "SETTLECHECK_AUTO_MIGRATE": "false",
        "SETTLECHECK_DEMO_DATA": "false",
        "SETTLECHECK_LOG_LEVEL": "WARNING",
        "SETTLECHECK_RATE_LIMIT_PER_MINUTE": "0",
        "SETTLECHECK_ID_HASH_KEY": "bench-secret-key-0123456789",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.main:app",
            "--port",
            str(args.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    headers = {"X-API-Key": token}
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

        asyncio.run(_report(base, headers, args))
    finally:
        server.terminate()
        server.wait(timeout=10)
        _drop(args.url)


async def _report(base: str, headers: dict[str, str], args: argparse.Namespace) -> None:

    def health(_: int) -> tuple[str, str, dict[str, object]]:
        return "GET", "/healthz", {}

    def settlement(i: int) -> tuple[str, str, dict[str, object]]:
        payload = {
            "visit_id": f"B{i:07d}",
            "his_settlement_id": f"S{i}",
            "discharged_at": "2024-03-10T10:00:00+08:00",
            "bill": {"total": "20500.00", "in_policy": "20000.00", "out_of_policy": "500.00"},
        }
        return "POST", "/v1/settlements", {"json": payload, "headers": headers}

    await _drive(base, health, seconds=1.0, concurrency=args.concurrency)  # warm-up
    h_rate, h_lat, h_err = await _drive(
        base, health, seconds=args.seconds, concurrency=args.concurrency
    )
    s_rate, s_lat, s_err = await _drive(
        base, settlement, seconds=args.seconds, concurrency=args.concurrency
    )
    if len(s_lat) > args.visits:
        print("warning: more requests than seeded visits; raise --visits")
    print(f"concurrency {args.concurrency}, {args.seconds:.0f} s each, one uvicorn worker")
    for name, rate, lat, err in (
        ("/healthz", h_rate, h_lat, h_err),
        ("POST /v1/settlements", s_rate, s_lat, s_err),
    ):
        print(
            f"{name:<22} {rate:8.0f} req/s  p50 {_pct(lat, 0.5):6.1f} ms  "
            f"p99 {_pct(lat, 0.99):6.1f} ms  mean {statistics.fmean(lat) * 1000:6.1f} ms  "
            f"errors {err}"
        )
    print(f"settlement / healthz ratio: {s_rate / h_rate:.1%}")


if __name__ == "__main__":
    main()
