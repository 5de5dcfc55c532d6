"""Fault scenarios against the service as it runs in production (called from .ci/run).

    python tests/proof/run_faults.py [kill redis postgres registry two-processes]

Each scenario starts its own stack (bench/harness.py: fresh PostgreSQL database
`settlecheck_faults`, Redis db 12, `settlecheck serve --workers 2` on loopback), puts load on it,
breaks something, and checks what a payments system must promise. Every scenario that stops
Redis, PostgreSQL or the stand-in registry starts it again in a `finally`, and each is bounded
in time. Exit status 1 if any check fails.

- kill: SIGKILL of the whole service in the middle of a settlement load; after a restart every
  settlement that got a 2xx is stored exactly once, a retry with the same key returns it and
  creates nothing, and the accumulators equal the sum of the stored settlements.
- redis: Redis stopped mid-load; every request still succeeds, /readyz says degraded.
- postgres: PostgreSQL restarted mid-load; requests fail fast with 503 and Retry-After, and
  succeed again on their own, without restarting the service.
- registry: the stand-in registry frozen (SIGSTOP) and then killed; answers come within the
  deadline from the roster snapshot, and once the breaker is open without waiting on the
  registry at all (`unknown` when there is no snapshot either: tests/admissions, with respx).
- two-processes: two service instances on the same PostgreSQL and Redis; concurrent
  settlements of one person at both never overshoot an annual cap, and one settlement sent to
  both at once is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import Stack, postgres, postgres_restarting, redis_stopped  # noqa: E402
from bench.run import seed_visits  # noqa: E402

DB = "settlecheck_faults"
REDIS_DB = 12
BASIC_CAP_FEN = 150_000_00  # demo province: basic insurance annual cap


class Failed(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)
    print(f"    ok: {message}", flush=True)


def settlement(visit: str, his: str, in_policy: str = "20000.00") -> dict[str, Any]:
    total = f"{float(in_policy) + 500:.2f}"  # test data only; the service never sees a float
    return {
        "visit_id": visit,
        "his_settlement_id": his,
        "discharged_at": "2024-03-10T10:00:00+08:00",
        "bill": {"total": total, "in_policy": in_policy, "out_of_policy": "500.00"},
    }


def ledger_rows(
    stack: Stack,
) -> tuple[list[tuple[Any, ...]], dict[tuple[str, str, int], Counter[str]]]:
    """Settlements (visit, his id, id) and, per person/pool/year, the accumulators."""
    import psycopg

    url = stack.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        stored = conn.execute(
            "SELECT visit_id, his_settlement_id, id, person_key, pool, year, deltas "
            "FROM settlements"
        ).fetchall()
        reversals = conn.execute(
            "SELECT s.person_key, s.pool, s.year, r.deltas FROM settlement_reversals r "
            "JOIN settlements s ON s.id = r.settlement_id"
        ).fetchall()
        accumulated = conn.execute(
            "SELECT person_key, pool, year, key, value_fen FROM accumulators"
        ).fetchall()
    expected: dict[tuple[str, str, int], Counter[str]] = {}
    for *_, person, pool, year, deltas in stored:
        expected.setdefault((person, pool, year), Counter()).update(_deltas(deltas))
    for person, pool, year, deltas in reversals:
        expected.setdefault((person, pool, year), Counter()).update(_deltas(deltas))
    actual: dict[tuple[str, str, int], Counter[str]] = {}
    for person, pool, year, key, value in accumulated:
        actual.setdefault((person, pool, year), Counter())[key] = value
    mismatched = [
        k
        for k in set(expected) | set(actual)
        if +expected.get(k, Counter()) != +actual.get(k, Counter())
    ]
    check(
        not mismatched, f"accumulators equal the sum of stored settlements ({len(actual)} people)"
    )
    return stored, actual


def _deltas(value: Any) -> dict[str, int]:
    data = json.loads(value) if isinstance(value, str) else value
    return {k: int(v) for k, v in data.items()}


async def post_all(
    base: str, headers: dict[str, str], bodies: list[dict[str, Any]], concurrency: int
) -> list[tuple[int | str, dict[str, Any] | None]]:
    out: list[tuple[int | str, dict[str, Any] | None]] = [("unsent", None)] * len(bodies)
    queue = iter(range(len(bodies)))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=15) as client:

        async def worker() -> None:
            for i in queue:
                try:
                    r = await client.post("/v1/settlements", json=bodies[i], headers=headers)
                    out[i] = (r.status_code, r.json() if r.status_code < 300 else None)
                except (httpx.HTTPError, json.JSONDecodeError) as exc:
                    out[i] = (type(exc).__name__, None)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


# --- scenarios ---------------------------------------------------------------------------------


def scenario_kill() -> None:
    n = 1500
    with Stack(database=DB, redis_db=REDIS_DB) as stack:
        stack.prepare()
        asyncio.run(seed_visits(stack.database_url, n, prefix="K"))
        stack.start()
        bodies = [settlement(f"K{i}", f"KS{i}") for i in range(n)]
        headers = stack.headers("hospital")

        async def load_and_kill() -> list[tuple[int | str, dict[str, Any] | None]]:
            load = asyncio.create_task(post_all(stack.url, headers, bodies, 24))
            await asyncio.sleep(2.0)
            await asyncio.to_thread(stack.kill)
            return await load

        first = asyncio.run(load_and_kill())
        acked = {i: body["id"] for i, (status, body) in enumerate(first) if status == 201 and body}
        outcomes = Counter(str(s) for s, _ in first)
        print(f"    load before and during the kill: {dict(outcomes)}", flush=True)
        check(0 < len(acked) < n, f"the kill landed mid-load ({len(acked)} of {n} acknowledged)")
        stack.start()
        stored, _ = ledger_rows(stack)
        per_visit = Counter(visit for visit, *_ in stored)
        check(max(per_visit.values()) == 1, "no visit has two settlements after the kill")
        ids = {visit: sid for visit, _, sid, *_ in stored}
        check(
            all(ids.get(f"K{i}") == sid for i, sid in acked.items()),
            "every acknowledged settlement is stored, under the id it was acknowledged with",
        )
        tried = [i for i, (status, _) in enumerate(first) if status != "unsent"]
        again = asyncio.run(post_all(stack.url, headers, [bodies[i] for i in tried], 16))
        check(
            all(status == 201 for status, _ in again),
            f"a retry of each of the {len(tried)} requests sent is a 201",
        )
        check(
            all(again[k][1]["id"] == acked[i] for k, i in enumerate(tried) if i in acked),  # type: ignore[index]
            "a retry of an acknowledged settlement returns the stored one",
        )
        stored, _ = ledger_rows(stack)
        check(len(stored) == len(tried), "after the retries: one settlement per request sent")


def _load(
    base: str, requests: list[Callable[[httpx.AsyncClient], Any]], *, rate: float, seconds: float
) -> Callable[[], Any]:
    async def run() -> list[tuple[float, float, httpx.Response | str]]:
        results: list[tuple[float, float, httpx.Response | str]] = []
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            t0 = time.monotonic()

            async def one(i: int) -> None:
                started = time.monotonic()
                try:
                    response = await requests[i % len(requests)](client)
                except httpx.HTTPError as exc:
                    response = type(exc).__name__
                results.append((started - t0, time.monotonic() - started, response))

            tasks = []
            for i in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)
        return results

    return run


def _status_requests(stack: Stack, people: list[str]) -> list[Callable[[httpx.AsyncClient], Any]]:
    headers = stack.headers("hospital")
    counter = iter(range(10**9))

    def status(person: str) -> Callable[[httpx.AsyncClient], Any]:
        return lambda c: c.get(f"/v1/persons/{person}/status", headers=headers)

    def admission(person: str) -> Callable[[httpx.AsyncClient], Any]:
        def send(c: httpx.AsyncClient) -> Any:
            body = {
                "visit_id": f"F-{next(counter)}-{os.getpid()}",
                "id_number": person,
                "name": "张三",
                "admitted_at": "2026-03-10T08:00:00+08:00",
                "visit_type": "inpatient",
                "insured_county": "990102",
                "referral": {"referred": False},
                "deposit_intended": "0.00",
            }
            return c.post("/v1/admissions", json=body, headers=headers)

        return send

    return [f(p) for p in people for f in (status, admission)]


def _people(count: int = 20) -> list[str]:
    from service.roster.demo import demo_people

    return [p.id_number for p in demo_people() if p.insured_county == "990102"][:count]


def scenario_redis() -> None:
    with Stack(database=DB, redis_db=REDIS_DB, registry=True) as stack:
        stack.prepare().start()
        load = _load(stack.url, _status_requests(stack, _people()), rate=40, seconds=7)
        readiness: list[dict[str, Any]] = []

        async def run() -> Any:
            task = asyncio.create_task(load())
            await asyncio.sleep(1.5)
            with redis_stopped():
                await asyncio.sleep(1.0)
                async with httpx.AsyncClient(base_url=stack.url, timeout=5) as c:
                    readiness.append((await c.get("/readyz")).json())
                await asyncio.sleep(2.0)
            return await task

        results = asyncio.run(run())
        bad = [(t, r if isinstance(r, str) else r.status_code) for t, _, r in results]
        bad = [b for b in bad if b[1] not in (200, 201)]
        check(len(results) >= 250, f"{len(results)} requests sent across the outage")
        check(not bad, f"every request succeeded while Redis was down (failures: {bad[:5]})")
        check(
            readiness[0]["status"] == "degraded" and readiness[0]["checks"]["cache"] == "down",
            f"/readyz during the outage: {readiness[0]}",
        )
        slowest = max(d for _, d, _ in results)
        check(slowest < 2.0, f"the slowest request took {slowest * 1000:.0f} ms (< 2 s)")


def scenario_postgres() -> None:
    env = {"SETTLECHECK_DATABASE_TIMEOUT_SECONDS": "2", "SETTLECHECK_AUTH_CACHE_SECONDS": "60"}
    with Stack(database=DB, redis_db=REDIS_DB, registry=True, extra_env=env) as stack:
        stack.prepare().start()
        load = _load(stack.url, _status_requests(stack, _people()), rate=40, seconds=12)

        async def run() -> Any:
            task = asyncio.create_task(load())
            await asyncio.sleep(1.5)
            with postgres_restarting():
                await asyncio.to_thread(postgres, "restart")
            return await task

        results = asyncio.run(run())
        statuses = Counter(r if isinstance(r, str) else r.status_code for _, _, r in results)
        print(f"    statuses across the restart: {dict(statuses)}", flush=True)
        unavailable = [
            (d, r) for _, d, r in results if not isinstance(r, str) and r.status_code == 503
        ]
        others = [s for s in statuses if s not in (200, 201, 503)]
        for t, d, r in results:
            if isinstance(r, str):
                print(f"    {r} at t={t:.2f}s after {d * 1000:.0f} ms", flush=True)
        check(not others, f"only 2xx and 503 across the restart (others: {others})")
        check(
            all(r.headers.get("retry-after") for _, r in unavailable),
            f"every 503 ({len(unavailable)}) carries Retry-After",
        )
        check(
            all(d < 3.5 for d, _ in unavailable),
            "every 503 came within 3.5 s (database timeout 2 s)",
        )
        tail = [r for t, _, r in results if t > 9.0]
        check(
            tail and all(not isinstance(r, str) and r.status_code in (200, 201) for r in tail),
            f"the last {len(tail)} requests succeeded: recovered without a restart of the service",
        )


def scenario_registry() -> None:
    env = {
        "SETTLECHECK_REGISTRY_TOTAL_DEADLINE_SECONDS": "0.5",
        "SETTLECHECK_REGISTRY_BREAKER_FAILURES": "3",
        "SETTLECHECK_REGISTRY_BREAKER_RESET_SECONDS": "60",
        "SETTLECHECK_CACHE_TTL_SECONDS": "0",
    }
    with Stack(database=DB, redis_db=REDIS_DB, registry=True, extra_env=env, workers=1) as stack:
        stack.prepare().start()
        headers = stack.headers("hospital")
        known = _people(6)
        from tests.factories import resident_id

        stranger = resident_id(region="500112", seq=913)

        def status(client: httpx.Client, person: str) -> tuple[float, dict[str, Any]]:
            started = time.monotonic()
            r = client.get(f"/v1/persons/{person}/status", headers=headers)
            assert r.status_code == 200, r.text
            return time.monotonic() - started, r.json()

        with httpx.Client(base_url=stack.url, timeout=10) as client:
            _, live = status(client, known[0])
            check(live["source"]["kind"] == "registry", f"registry up: source {live['source']}")
            assert stack._registry_proc is not None
            pgid = stack._registry_proc.pid
            os.killpg(pgid, signal.SIGSTOP)  # slow: accepts, never answers
            try:
                timed = [status(client, p) for p in known[1:5]]
            finally:
                os.killpg(pgid, signal.SIGCONT)
            stack.stop_registry()  # and now failing: connection refused
            check(
                all(b["source"]["kind"] == "snapshot" for _, b in timed),
                "frozen registry: the snapshot answers",
            )
            check(
                max(d for d, _ in timed) < 1.5,
                f"each answer within the deadline (slowest {max(d for d, _ in timed):.2f} s)",
            )
            fast, unknown = status(client, stranger)
            # ADR 0011: a snapshot's silence proves nothing, so a person it lacks is `unknown`
            # (never "not covered"), with the snapshot's date, the reason and the breaker named.
            check(
                unknown["source"]["kind"] == "unknown"
                and unknown["covered"] is None
                and unknown["source"]["snapshot_taken_at"] is not None
                and unknown["source"]["registry_problem"] == "registry_circuit_open",
                f"a stranger: unknown, not 'not covered' (covered={unknown['covered']}, "
                f"source={unknown['source']['kind']})",
            )
            check(
                fast < 0.2, f"breaker open: answered in {fast * 1000:.0f} ms without the registry"
            )
            metrics = client.get("/metrics", headers=stack.headers("admin")).text
            outcomes = [line for line in metrics.splitlines() if "registry_calls_total{" in line]
            print("    " + "\n    ".join(outcomes), flush=True)


def scenario_two_processes() -> None:
    visits = 40
    person = hashlib.sha256(b"two-processes").hexdigest()
    with Stack(database=DB, redis_db=REDIS_DB) as a:
        a.prepare()
        asyncio.run(seed_visits(a.database_url, visits, prefix="T", person=person))
        asyncio.run(seed_visits(a.database_url, 20, prefix="I"))
        a.start()
        b = Stack(database=DB, redis_db=REDIS_DB, keys=a.keys)
        try:
            b.start()
            headers = a.headers("hospital")

            async def fire() -> tuple[list[Any], list[Any], list[Any]]:
                capped = [settlement(f"T{i}", f"TS{i}") for i in range(visits)]
                same = [settlement(f"I{i}", f"IS{i}") for i in range(20)]
                return await asyncio.gather(
                    post_all(a.url, headers, capped[0::2] + same, 20),
                    post_all(b.url, headers, capped[1::2] + same, 20),
                    asyncio.sleep(0),
                )

            at_a, at_b, _ = asyncio.run(fire())
        finally:
            b.stop()
        statuses = Counter(str(s) for s, _ in at_a + at_b)
        check(set(statuses) == {"201"}, f"every request at both processes is a 201 ({statuses})")
        ids_a = [body["id"] for _, body in at_a[-20:]]
        ids_b = [body["id"] for _, body in at_b[-20:]]
        check(ids_a == ids_b, "the same settlement sent to both processes got one id")
        stored, accumulators = ledger_rows(a)
        per_visit = Counter(visit for visit, *_ in stored)
        check(len(stored) == visits + 20 and max(per_visit.values()) == 1, "one row per visit")
        totals = accumulators[(person, "990102", 2024)]
        check(
            totals["basic_insurance.paid"] <= BASIC_CAP_FEN,
            f"basic insurance paid {totals['basic_insurance.paid']} <= cap {BASIC_CAP_FEN}",
        )
        check(
            totals["basic_insurance.paid"] == BASIC_CAP_FEN,
            "40 bills of 20,000 yuan use the cap exactly",
        )


SCENARIOS = {
    "kill": scenario_kill,
    "redis": scenario_redis,
    "postgres": scenario_postgres,
    "registry": scenario_registry,
    "two-processes": scenario_two_processes,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SCENARIOS)
    failed = []
    for name in chosen:
        started = time.monotonic()
        print(f"\n--- fault scenario: {name}", flush=True)
        try:
            SCENARIOS[name]()
        except Exception as exc:  # report every scenario, fail at the end
            failed.append(name)
            print(f"    FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"    ({time.monotonic() - started:.0f} s)", flush=True)
    with contextlib.suppress(Exception):
        from bench.harness import drop_database

        drop_database(DB)
    print(f"\nfault scenarios: {len(chosen) - len(failed)} passed, {len(failed)} failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
