"""Violation queries over a million rows on PostgreSQL: first page, filtered first page, a deep
page, the first pages of 144 filter combinations (pooled, and the slowest of them), and the
scoreboard, timed through the service functions the API calls.

    SETTLECHECK_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_violations \
        python bench/bench_violations.py [--rows 1000000] [--reseed] [--sweep-runs 10]

Each first page prints its total: "8,657" exact, "10,000+" past the cap, "50+ (budget)" when the
count overran its time budget and the total is only a floor.

The database is created and seeded once (COPY through psycopg) and reused on later runs. The
bench rows carry placeholder hashes, not a valid chain: chaining a million rows is the verifier's
job, not the query's, and costs nothing the queries read.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlmodel import col, select

from service.auth import Principal, Role
from service.base import SQLModel
from service.db import create_engine, create_sessionmaker
from service.settings import Settings
from service.violations.models import Violation
from service.violations.query import Page, encode_cursor, list_violations
from service.violations.scope import ViolationFilter
from service.violations.scoreboard import scoreboard
from service.violations.total import TOTAL_CAP

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
               "points_hundredths, detected_at, event_on, status, status_changed_at")  # fmt: skip
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
                '{"bench": true}', rng.choice((20, 20, 50, 100)), at,
                (at + timedelta(hours=8)).date(), rng.choice(STATUSES), at,
            ))  # fmt: skip
    with (
        conn.cursor() as cur,
        cur.copy("COPY ledger_heads (chain, seq, head_hash) FROM STDIN") as c,
    ):
        for county, seq in seqs.items():
            c.write_row((county, seq, "0" * 64))
    conn.execute("VACUUM ANALYZE violations")
    print(f"seeded {rows:,} violations in {time.perf_counter() - started:.1f} s")


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _ms(samples: list[float]) -> str:
    p50, p99 = statistics.median(samples) * 1000, _p99(samples) * 1000
    return f"p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"


def _total(result: Any) -> str:
    if not isinstance(result, Page):
        return ""
    if result.total_exact:
        return f"total {result.total:,}"
    return f"total {result.total:,}+" + ("" if result.total == TOTAL_CAP else " (budget)")


async def sample(runs: int, work: Any) -> tuple[list[float], Any]:
    """Timings of `runs` calls after three warm-ups, and the last call's result."""
    for _ in range(3):
        result = await work()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        result = await work()
        samples.append(time.perf_counter() - t)
    return samples, result


async def timed(label: str, runs: int, work: Any) -> None:
    samples, result = await sample(runs, work)
    print(f"{label:<58} {_ms(samples)}   ({runs} runs)  {_total(result)}")


def combinations() -> list[ViolationFilter]:
    """Every combination of one value (or none) per filter, sparse values where there is a
    choice: a first page must be fast for all of them, not just for the common ones."""
    march, year = (date(2025, 3, 1), date(2025, 3, 31)), (date(2025, 1, 1), date(2025, 12, 31))
    dimensions: dict[str, list[Any]] = {
        "region": [None, "9902", COUNTIES[5]],
        "hospital_code": [None, f"H{COUNTIES[5]}003"],
        "rule_code": [None, "DEPOSIT_CHARGED"],
        "status": [None, "rectified"],
        "severity": [None, "high"],
        "days": [None, march, year],
    }
    wanted = []
    for values in itertools.product(*dimensions.values()):
        chosen = dict(zip(dimensions, values, strict=True))
        days = chosen.pop("days")
        if days is not None:
            chosen["detected_from"], chosen["detected_to"] = days
        wanted.append(ViolationFilter(**chosen))
    return wanted


async def sweep(runs: int, page: Any, principal: Principal) -> None:
    """All combinations: their samples pooled, then the slowest one by median."""
    pooled: list[float] = []
    slowest: tuple[list[float], ViolationFilter, Any] | None = None
    floors = 0
    for wanted in combinations():
        samples, result = await sample(runs, lambda w=wanted: page(principal, w))
        pooled += samples
        floors += not result.total_exact and result.total < TOTAL_CAP
        if slowest is None or statistics.median(samples) > statistics.median(slowest[0]):
            slowest = (samples, wanted, result)
    assert slowest is not None
    label = f"first page, {len(combinations())} filter combinations, pooled"
    print(f"{label:<58} {_ms(pooled)}   ({runs} runs each)  floors (budget): {floors}")
    print(f"    slowest by p50: {_ms(slowest[0])}  {_total(slowest[2])}  {_named(slowest[1])}")


def _named(wanted: ViolationFilter) -> str:
    return ", ".join(f"{k}={v}" for k in wanted.__slots__ if (v := getattr(wanted, k)) is not None)


async def measure(runs: int, sweep_runs: int) -> None:
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
        # Skip 500,000 (detected_at, id) index entries, not table rows: within the engine's
        # statement timeout even when the machine is busy.
        newest_first = (col(Violation.detected_at).desc(), col(Violation.id).desc())
        skipped = select(col(Violation.id)).order_by(*newest_first).offset(500_000).limit(1)
        middle = await session.get(Violation, (await session.exec(skipped)).one())
    assert middle is not None
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
    await sweep(sweep_runs, page, province)

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
    parser.add_argument("--sweep-runs", type=int, default=10, help="runs per filter combination")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    prepare(args.rows, args.reseed)
    asyncio.run(measure(args.runs, args.sweep_runs))


if __name__ == "__main__":
    main()
