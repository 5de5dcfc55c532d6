"""Roster import: generate an N-row CSV (default 1,000,000), import it, print rows/s and memory.

    python bench/bench_roster_import.py                      # SQLite in a temp dir
    python bench/bench_roster_import.py --rows 200000
    python bench/bench_roster_import.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_b
    python bench/bench_roster_import.py --imports 3          # steady state, see below

Target (TARGETS.md): 1,000,000 rows in at most 60 s with flat memory. Peak RSS is sampled
during the import only (the generator runs first and writes straight to disk).

Every import after the first also deletes the snapshot it replaces, as it does in production;
`--imports N` imports the same file N times to measure that. A PostgreSQL database keeps the
snapshot of the previous run, so there the first import already includes the delete.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.identity import IdHasher, check_character  # noqa: E402
from service.roster.importer import import_roster, sync_url  # noqa: E402
from service.roster.rows import COLUMNS  # noqa: E402

CATEGORIES = ("registered_poor", "lifted_out", "minimum_living", "destitute", "monitored_edge")


def generate(path: Path, rows: int) -> None:
    rng = random.Random(7)
    start = date(1940, 1, 1)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in range(rows):
            born = start + timedelta(days=i % 27_000)
            first17 = f"{500100 + i % 97:06d}{born:%Y%m%d}{i // 27_000 % 1000:03d}"
            writer.writerow(
                (
                    first17 + check_character(first17),
                    "990102" if i % 3 else "990103",
                    CATEGORIES[i % len(CATEGORIES)],
                    "2016-01-01",
                    "",
                    "no",
                    "2027-12-31" if rng.random() < 0.9 else "",
                    "2027-06-30" if i % 5 == 0 else "",
                )
            )


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


class PeakSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.05)


def create_schema(url: str) -> None:
    from service import models  # noqa: F401
    from service.base import SQLModel
    from service.demo import DEMO_REGIONS
    from service.regions.models import Region

    engine = sa.create_engine(sync_url(url))
    try:
        SQLModel.metadata.create_all(engine)
        with engine.begin() as conn:  # the file's counties are registered (docs/roster.md)
            known = set(conn.execute(sa.select(Region.code)).scalars())  # type: ignore[call-overload]
            rows = [r.model_dump(exclude={"created_at"}) for r in DEMO_REGIONS]
            rows = [r for r in rows if r["code"] not in known]
            if rows:
                conn.execute(sa.insert(Region), rows)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--imports", type=int, default=1, help="import the file N times")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="roster-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    create_schema(url)
    path = workdir / "roster.csv"
    t0 = time.perf_counter()
    generate(path, args.rows)
    print(
        f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - t0:.1f}s"
    )
    print(f"database: {url.split(':', 1)[0]}")
    try:
        for _ in range(args.imports):
            measure_import(path, url, args.batch_size)
    finally:
        shutil.rmtree(workdir)  # the file, its rejects report and the SQLite database


def measure_import(path: Path, url: str, batch_size: int) -> None:
    before = rss_mb()
    sampler = PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    report = import_roster(
        path,
        database_url=url,
        hasher=IdHasher(b"bench-secret-key-0123456789"),
        taken_at=datetime.now(UTC),
        batch_size=batch_size,
    )
    seconds = time.perf_counter() - t0
    sampler.running = False
    sampler.join()
    print(
        f"imported {report.rows_loaded:,} rows ({report.rows_rejected:,} rejected) in "
        f"{seconds:.1f}s = {report.rows_loaded / seconds:,.0f} rows/s "
        f"(target: 1,000,000 in <= 60 s)"
    )
    print(
        f"RSS before import {before:.0f} MB, peak during import {sampler.peak:.0f} MB "
        f"(+{sampler.peak - before:.0f} MB)"
    )


if __name__ == "__main__":
    main()
