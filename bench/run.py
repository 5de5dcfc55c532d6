"""The whole benchmark in one command: `python bench/run.py` (docs/benchmarks.md).

Starts the service as in production on a loopback port: `settlecheck serve --workers 2` on a
fresh PostgreSQL database `settlecheck_bench` (durable commits), Redis db 9, demo data loaded, and
pre-admitted visits for the settlement load. Then, from separate processes:

- throughput: `wrk` (closed loop, 2 threads, 32 connections), Lua scripts giving every POST its own
  visit and settlement ids, for /healthz (the bare JSON baseline), person status (warm cache),
  admission, settlement and the violation query; each as a ratio to a /healthz run of the same
  length just before it (this VM's speed drifts by 2x over minutes);
- the limit: bench/raw_settlement.py, a minimal settlement with the raw driver in one statement
  of CTEs (durable commit, no auth), served with the same uvicorn settings; every scenario is also
  reported as a ratio to it ("to raw", each share of its adjacent /healthz compared);
- latency: bench/openloop.py at a fixed offered rate (200 req/s), p50/p95/p99 from each request's
  scheduled time (no coordinated omission), and errors;
- resident memory of each uvicorn worker, sampled during the load (the maximum);
- the policy engine in process (bench/bench_engine.py).

Options: --seconds (per wrk scenario, default 4), --rate (default 200), --latency-seconds (5),
--connections (32), --keep (leave the database). Takes about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import ADMIN_PG, BIN, Stack, free_port  # noqa: E402

HOSPITAL = "H990102002"
SETTLE_VISITS = 40_000
LATENCY_START = 30_000  # open-loop settlements use visits from here; wrk from 0


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    role: str | None
    body: str = ""
    start: int = 0
    latency_start: int = 0
    raw: bool = False  # served by the raw-driver reference, not by the service

    def spec(self, stack: Stack, people: list[str], *, latency: bool) -> dict[str, Any]:
        headers = {"content-type": "application/json"} if self.body else {}
        if self.role:
            headers.update(stack.headers(self.role))
        return {
            "base": RAW.url if self.raw else stack.url,
            "method": self.method,
            "path": self.path,
            "headers": headers,
            "body": self.body,
            "start": self.latency_start if latency else self.start,
            "people": people,
        }


def scenarios() -> list[Scenario]:
    admission = {
        "visit_id": "BA-__N__",
        "id_number": "__P__",
        "name": "张三",
        "admitted_at": "2026-03-10T08:00:00+08:00",
        "visit_type": "inpatient",
        "insured_county": "990102",
        "referral": {"referred": False},
        "deposit_intended": "0.00",
    }
    settlement = {
        "visit_id": "B__N__",
        "his_settlement_id": "S__N__",
        "discharged_at": "2024-03-10T10:00:00+08:00",
        "bill": {"total": "20500.00", "in_policy": "20000.00", "out_of_policy": "500.00"},
    }
    return [
        Scenario("healthz (baseline)", "GET", "/healthz", None),
        Scenario("person status (warm cache)", "GET", "/v1/persons/__P__/status", "hospital"),
        Scenario(
            "admission",
            "POST",
            "/v1/admissions",
            "hospital",
            json.dumps(admission, ensure_ascii=False),
            latency_start=10**6,
        ),
        Scenario(
            "settlement",
            "POST",
            "/v1/settlements",
            "hospital",
            json.dumps(settlement),
            latency_start=LATENCY_START,
        ),
        Scenario("violation query (first page)", "GET", "/v1/violations?page_size=50", "auditor"),
        Scenario(
            RAW_NAME,
            "POST",
            "/raw/settlements",
            None,
            json.dumps(settlement),
            latency_start=LATENCY_START,
            raw=True,
        ),
    ]


RAW_NAME = "raw settlement (the limit)"


class RawReference:
    """bench/raw_settlement.py served by uvicorn with the service's server settings (workers,
    keep-alive, no access log) on its own port, against the same database."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, stack: Stack, workers: int, keep_alive: int = 75) -> None:
        from bench.raw_settlement import prepare

        dsn = f"{ADMIN_PG}/{stack.database}"
        asyncio.run(prepare(dsn, SETTLE_VISITS))
        env = {**os.environ, "SETTLECHECK_RAW_DSN": dsn}
        self._proc = subprocess.Popen(
            [
                *(str(BIN / "uvicorn"), "bench.raw_settlement:app", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--workers", str(workers), "--no-access-log"),
                *("--timeout-keep-alive", str(keep_alive), "--log-level", "warning"),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError("the raw reference did not start")

    def stop(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            self._proc.wait(15)
            self._proc = None


RAW = RawReference()


LUA = r"""
local threads = {}
local counter = 0
local spec = %s
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
local function render(text, n)
  local out = text:gsub("__N__", tostring(n))
  if #spec.people > 0 then
    out = out:gsub("__P__", spec.people[(n %% #spec.people) + 1])
  end
  return out
end
request = function()
  local n = spec.start + tid + %d * counter
  counter = counter + 1
  local body = nil
  if #spec.body > 0 then body = render(spec.body, n) end
  return wrk.format(spec.method, render(spec.path, n), spec.headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"status_errors\": %%d, " ..
    "\"socket_errors\": %%d, \"slow\": %%d, \"p50_ms\": %%.2f, \"p99_ms\": %%.2f, " ..
    "\"max_ms\": %%.2f}\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal holding these UTF-8 bytes (decimal escapes, Lua 5.1 safe)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_value(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"[{lua_string(k)}] = {lua_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, str):
        return lua_string(value)
    return str(value)


def run_wrk(spec: dict[str, Any], *, seconds: float, connections: int, tmp: Path) -> dict[str, Any]:
    script = tmp / "scenario.lua"
    script.write_text(LUA % (lua_value(spec), 2))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), spec["base"]],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    match = re.search(r"WRKJSON (\{.*\})", out.stdout)
    if match is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def run_openloop(spec: dict[str, Any], *, rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    path = tmp / "openloop.json"
    path.write_text(json.dumps(spec, ensure_ascii=False))
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "openloop.py"), str(path)]
        + ["--rate", str(rate), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class MemorySampler:
    """The largest resident set of each worker while the load runs."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for pid in self.stack.worker_pids():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
            self._stop.wait(0.25)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def seed_visits(
    database_url: str, count: int, *, prefix: str = "B", person: str | None = None
) -> None:
    """Admitted visits B0..B<count> of distinct people (as bench_settlement.py does), or all of
    one `person` (a person key) for the concurrency scenarios."""
    import hashlib

    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from service.admissions.models import Admission
    from service.base import table_of

    now = datetime.now(UTC)
    rows = [
        {
            "hospital_code": HOSPITAL,
            "county_code": "990102",
            "visit_id": f"{prefix}{i}",
            "person_key": person or hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
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
            "created_at": now,
        }
        for i in range(count)
    ]
    engine = create_async_engine(database_url)
    table = table_of(Admission)
    async with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(sa.insert(table), rows[start : start + 5000])
    await engine.dispose()


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = int(f.readline().split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1048576:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def engine_figure() -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_engine.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    return "\n".join(lines[-3:]) if lines else out.stderr[-500:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--latency-seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk")
        return 2
    from service.roster.demo import demo_people

    people = [p.id_number for p in demo_people() if p.insured_county == "990102"][:200]
    started = time.monotonic()
    stack = Stack(database="settlecheck_bench", redis_db=9, workers=args.workers, registry=True)
    tmp = Path(tempfile.mkdtemp(prefix="sck-bench-"))
    results: list[dict[str, Any]] = []
    print(f"machine: {machine()}", flush=True)
    try:
        stack.prepare()
        asyncio.run(seed_visits(stack.database_url, SETTLE_VISITS))
        stack.start()
        print(f"service: settlecheck serve --workers {args.workers} at {stack.url}", flush=True)
        RAW.start(stack, args.workers)
        print(f"raw-driver reference: bench/raw_settlement.py at {RAW.url}", flush=True)
        baseline = scenarios()[0].spec(stack, people, latency=False)
        with MemorySampler(stack) as memory:
            for scenario in scenarios():
                if scenario.name.startswith("person status"):  # warm the cache
                    warm = scenario.spec(stack, people, latency=False)
                    run_wrk(warm, seconds=1, connections=4, tmp=tmp)
                # The machine's speed drifts (a shared VM): each scenario is compared with a
                # /healthz run just before it, not with one taken a minute earlier.
                adjacent = run_wrk(
                    baseline, seconds=args.seconds, connections=args.connections, tmp=tmp
                )
                wrk = run_wrk(
                    scenario.spec(stack, people, latency=False),
                    seconds=args.seconds,
                    connections=args.connections,
                    tmp=tmp,
                )
                fixed = run_openloop(
                    scenario.spec(stack, people, latency=True),
                    rate=args.rate,
                    seconds=args.latency_seconds,
                    tmp=tmp,
                )
                results.append(
                    {
                        "scenario": scenario.name,
                        "wrk": wrk,
                        "baseline_rps": adjacent["rps"],
                        "fixed_rate": fixed,
                    }
                )
                print(f"  done: {scenario.name}", flush=True)
        rss = sorted(memory.peak.values())
    finally:
        RAW.stop()
        stack.stop()
        stack.stop_registry()
        if not args.keep:
            stack.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    raw = next(r for r in results if r["scenario"] == RAW_NAME)
    # The raw run's own share of its adjacent /healthz, so a scenario's ratio to the limit is
    # taken between shares of /healthz measured alike (the VM's speed drifts between runs).
    raw_share = raw["wrk"]["rps"] / raw["baseline_rps"]
    print(
        f"{'scenario':<30} {'req/s':>8} {'/healthz':>8} {'ratio':>6} {'to raw':>6} "
        f"{'errs':>5} {'>2s':>4} | "
        f"at {args.rate:.0f} req/s: {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7} {'errs':>5}"
    )
    for r in results:
        w, f, base = r["wrk"], r["fixed_rate"], r["baseline_rps"]
        # wrk's "timeout" counts a request in flight past its 2 s at each 2 s tick, and again
        # when its answer comes (left out of the latency figures): one slow request usually
        # counts twice. Slow, not failed: counted apart, so the tail of the admissions queued
        # on their county's ledger chain is not read as a failed admission.
        errs = w["status_errors"] + w["socket_errors"]
        r["ratio_to_raw"] = (w["rps"] / base) / raw_share
        print(
            f"{r['scenario']:<30} {w['rps']:>8.0f} {base:>8.0f} "
            f"{w['rps'] / base:>6.1%} {r['ratio_to_raw']:>6.1%} {errs:>5} {w['slow']:>4} | "
            f"{'':>14}{f['p50_ms']:>6.1f} {f['p95_ms']:>6.1f} {f['p99_ms']:>6.1f} "
            f"{f['max_ms']:>7.1f} {f['errors']:>5}"
        )
    print(
        "resident memory per worker (peak under load): "
        + ", ".join(f"{b / 1048576:.0f} MB" for b in rss)
    )
    engine = engine_figure()
    print("engine (bench/bench_engine.py):\n  " + engine.replace("\n", "\n  "))
    print(f"total {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "results": results,
                    "rss_mb": [round(b / 1048576) for b in rss],
                    "engine": engine,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
