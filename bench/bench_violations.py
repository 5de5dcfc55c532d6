"""Violation queries over a million rows on PostgreSQL: first page, filtered first page, a deep
page, and the scoreboard, timed through the service functions the API calls.

    SETTLECHECK_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_violations \
        python bench/bench_violations.py [--rows 1000000] [--reseed]

The database is created and seeded once (COPY through psycopg) and reused on later runs. The
bench rows carry placeholder hashes, not a valid chain: chaining a million rows is the verifier's
job, not the query's, and costs nothing the queries read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa

from service.auth import Principal, Role
from service.base import SQLModel
from service.db import create_engine, create_sessionmaker
from service.settings import Settings
from service.violations.models import Violation
from service.violations.query import encode_cursor, list_violations
from service.violations.scope import ViolationFilter
from service.violations.scoreboard import scoreboard

URL = os.environ.get(
    "SETTLECHECK_BENCH_POSTGRES_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/bench_violations",
)
RULES = ["DEPOSIT_CHARGED", "NOT_ONE_STOP", "BELOW_TARGET_RATIO", "SELF_PAY_OVER_CAP",
         "OUT_OF_POLICY_OVER_LIMIT", "NO_FAMILY_DOCTOR", "IMPROPER_REFERRAL",
         "REGISTRY_INCONSISTENT"]  # fmt: skip
STATUSES = ["open"] * 5 + ["rectifying"] * 2 + ["rectified"] + ["verified"] * 4
COUNTIES = [f"99{p:02d}{c:02d}" for p in range(1, 7) for c in range(1, 9)]  # 48 counties
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 86400


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg", "postgresql")


def prepare(rows: int, reseed: bool) -> None:
    base, name = URL.rsplit("/", 1)
    with psycopg.connect(_plain(base + "/postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or reseed:
            conn.execute(f'CREATE DATABASE "{name}"')
    from service import models  # noqa: F401

    engine = sa.create_engine(URL)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    with psycopg.connect(_plain(URL), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM violations").fetchone()
        if have and have[0] >= rows:
            print(f"reusing {have[0]:,} rows")
            return
        conn.execute("TRUNCATE violations, violation_transitions, ledger_heads CASCADE")
        seed(conn, rows)


def seed(conn: psycopg.Connection[Any], rows: int) -> None:
    rng = random.Random(7)
    seqs = dict.fromkeys(COUNTIES, 0)
    started = time.perf_counter()
    columns = ("chain, chain_seq, prev_hash, entry_hash, rule_code, severity, hospital_code, "
               "county_code, visit_id, person_key, person_masked, source, evidence, "
               "points_hundredths, detected_at, status, status_changed_at")  # fmt: skip
    offsets = sorted(rng.randrange(SPAN_SECONDS) for _ in range(rows))
    with conn.cursor() as cur, cur.copy(f"COPY violations ({columns}) FROM STDIN") as copy:
        for i, offset in enumerate(offsets):
            county = rng.choice(COUNTIES)
            seqs[county] += 1
            at = START + timedelta(seconds=offset, microseconds=rng.randrange(1_000_000))
            copy.write_row((
                county, seqs[county], "0" * 64, f"{i:064x}", rng.choice(RULES),
                rng.choice(("low", "medium", "medium", "high")),
                f"H{county}{rng.randrange(12):03d}",
                county, f"V{i}", f"{i:064x}", "500112********0011", "settlement",
                '{"bench": true}', rng.choice((20, 20, 50, 100)), at, rng.choice(STATUSES), at,
            ))  # fmt: skip
    with (
        conn.cursor() as cur,
        cur.copy("COPY ledger_heads (chain, seq, head_hash) FROM STDIN") as c,
    ):
        for county, seq in seqs.items():
            c.write_row((county, seq, "0" * 64))
    conn.execute("VACUUM ANALYZE violations")
    print(f"seeded {rows:,} violations in {time.perf_counter() - started:.1f} s")


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms"


async def timed(label: str, runs: int, work: Any) -> None:
    for _ in range(3):
        await work()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - t)
    print(f"{label:<58} {_ms(samples)}   ({runs} runs)")


async def measure(runs: int) -> None:
    settings = Settings(database_url=URL, environment="test")
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    province = Principal(key_id=1, role=Role.AUDITOR, region_prefix="99")
    county = Principal(key_id=2, role=Role.AUDITOR, region_prefix=COUNTIES[5])
    admin = Principal(key_id=3, role=Role.ADMIN)

    async def page(principal: Principal, wanted: ViolationFilter, cursor: str | None = None) -> Any:
        async with maker() as session:
            return await list_violations(
                session, principal=principal, wanted=wanted, page_size=50, cursor=cursor
            )

    async with maker() as session:
        middle = (
            await session.exec(
                sa.select(Violation).order_by(Violation.detected_at.desc()).offset(500_000).limit(1)  # type: ignore[attr-defined]
            )
        ).one()[0]
    deep = encode_cursor(middle, "desc")
    everything = ViolationFilter()
    await timed("first page, province auditor, no filter", runs, lambda: page(province, everything))
    await timed("first page, county auditor", runs, lambda: page(county, everything))
    open_dep = ViolationFilter(status="open", rule_code="DEPOSIT_CHARGED", region="9902")
    await timed(
        "first page, region 9902 + open + DEPOSIT_CHARGED", runs, lambda: page(province, open_dep)
    )
    march = ViolationFilter(
        detected_from=date(2025, 3, 1), detected_to=date(2025, 3, 31), severity="high"
    )
    await timed("first page, March 2025 + severity high", runs, lambda: page(admin, march))
    await timed(
        "deep page (row 500,000), province auditor", runs, lambda: page(province, everything, deep)
    )

    async def board() -> Any:
        async with maker() as session:
            wanted = ViolationFilter(detected_from=date(2025, 1, 1), detected_to=date(2025, 12, 31))
            return await scoreboard(session, principal=province, wanted=wanted)

    await timed("scoreboard, province, one year (~500k rows)", max(5, runs // 20), board)

    async def board_all() -> Any:
        async with maker() as session:
            return await scoreboard(session, principal=admin, wanted=everything)

    await timed("scoreboard, everything (1M rows)", max(5, runs // 20), board_all)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    prepare(args.rows, args.reseed)
    asyncio.run(measure(args.runs))


if __name__ == "__main__":
    main()
