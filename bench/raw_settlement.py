"""The physical limit, served beside the service in the same benchmark run (issue 16).

A minimal FastAPI app whose one route settles a bill the way the service does, with none of the
service: no key, no validation beyond parsing the JSON, no engine (a fixed 70% of the bill), and
the raw driver (asyncpg, prepared statement) running ONE statement of CTEs per settlement: find
the admitted visit, move the person's accumulator under its cap, insert the settlement row,
in one durable commit. Tables of the same shape as the service's are created in the benchmark
database (`raw_*`). `bench/run.py` serves it with the same uvicorn settings as the service and
reports every scenario as a ratio to it.

    SETTLECHECK_RAW_DSN=postgresql://postgres@127.0.0.1:5432/settlecheck_bench \\
        uvicorn bench.raw_settlement:app --workers 2
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
from fastapi import FastAPI, Request, Response

SCHEMA = """
CREATE TABLE IF NOT EXISTS raw_admissions (
    id BIGSERIAL PRIMARY KEY, hospital_code TEXT NOT NULL, visit_id TEXT NOT NULL,
    person_key TEXT NOT NULL, pool TEXT NOT NULL, state TEXT NOT NULL,
    UNIQUE (hospital_code, visit_id));
CREATE TABLE IF NOT EXISTS raw_accumulators (
    person_key TEXT NOT NULL, pool TEXT NOT NULL, year INT NOT NULL, key TEXT NOT NULL,
    used_fen BIGINT NOT NULL CHECK (used_fen <= 50000000),
    PRIMARY KEY (person_key, pool, year, key));
CREATE TABLE IF NOT EXISTS raw_settlements (
    id BIGSERIAL PRIMARY KEY, hospital_code TEXT NOT NULL, visit_id TEXT NOT NULL,
    admission_id BIGINT NOT NULL, his_settlement_id TEXT NOT NULL, person_key TEXT NOT NULL,
    pool TEXT NOT NULL, year INT NOT NULL, total_fen BIGINT NOT NULL,
    funds_total_fen BIGINT NOT NULL, patient_pays_fen BIGINT NOT NULL, deltas JSONB NOT NULL,
    result JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (hospital_code, his_settlement_id), UNIQUE (hospital_code, visit_id));
"""

SETTLE = """
WITH visit AS (
    SELECT id, person_key, pool FROM raw_admissions
    WHERE hospital_code = $1 AND visit_id = $2 AND state = 'admitted'
), moved AS (
    INSERT INTO raw_accumulators (person_key, pool, year, key, used_fen)
    SELECT person_key, pool, $4, 'basic_insurance', $6 FROM visit
    ON CONFLICT (person_key, pool, year, key)
    DO UPDATE SET used_fen = raw_accumulators.used_fen + EXCLUDED.used_fen
    RETURNING used_fen
), stored AS (
    INSERT INTO raw_settlements (hospital_code, visit_id, admission_id, his_settlement_id,
        person_key, pool, year, total_fen, funds_total_fen, patient_pays_fen, deltas, result,
        created_at)
    SELECT $1, $2, visit.id, $3, visit.person_key, visit.pool, $4, $5, $6, $5 - $6, $7, $8, $9
    FROM visit, moved
    RETURNING id
)
SELECT id FROM stored
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(
        os.environ["SETTLECHECK_RAW_DSN"], min_size=4, max_size=10, statement_cache_size=100
    )
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/raw/settlements")
async def settle(request: Request) -> Response:
    body = json.loads(await request.body())
    total = int(Decimal(body["bill"]["total"]) * 100)
    funds = total * 7 // 10
    result = {
        "medfee_sumamt": body["bill"]["total"],
        "fund_pay_sumamt": f"{funds // 100}.{funds % 100:02d}",
    }
    async with request.app.state.pool.acquire() as conn:
        try:
            settlement_id = await conn.fetchval(
                SETTLE,
                "H990102002",
                body["visit_id"],
                body["his_settlement_id"],
                2024,
                total,
                funds,
                json.dumps({"basic_insurance": funds}),
                json.dumps(result),
                datetime.now(UTC),
            )
        except asyncpg.UniqueViolationError:  # settled before: the unique keys refuse a second
            return Response(status_code=409)
    if settlement_id is None:
        return Response(status_code=409)
    return Response(
        json.dumps({"id": settlement_id, **result}),
        status_code=201,
        media_type="application/json",
    )


async def prepare(dsn: str, visits: int, *, prefix: str = "B") -> None:
    """The tables and `visits` admitted visits B0..B<visits> of distinct people."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
        await conn.execute("TRUNCATE raw_admissions, raw_accumulators, raw_settlements")
        await conn.copy_records_to_table(
            "raw_admissions",
            records=[
                ("H990102002", f"{prefix}{i}", f"bench-{i}", "990102", "admitted")
                for i in range(visits)
            ],
            columns=["hospital_code", "visit_id", "person_key", "pool", "state"],
        )
    finally:
        await conn.close()
