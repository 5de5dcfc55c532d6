"""A county's year-end run (二次救助 / 年度补足) against a database.

Plain script: ``python bench/bench_yearend.py DATABASE_URL [SETTLEMENTS]`` (default 60,000
settlements of 20,000 people). The database must be empty (its tables are created here; use a
scratch SQLite file or a PostgreSQL database of your own). Loads the S7 worked example's policy
(tests/policy/examples) for the prefecture 320200, writes admissions and settled stays of
2025 for the county 320211 with the engine's own results, then times three runs: the first
(books), a second (books nothing), and one after a tenth of the stays were reversed (books
the differences). Prints the wall time of each and what it booked.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from service import models  # noqa: E402,F401
from service.admissions.models import Admission  # noqa: E402
from service.base import table_of  # noqa: E402
from service.db import create_engine, create_sessionmaker  # noqa: E402
from service.money import fen_to_yuan  # noqa: E402
from service.policy import Bill, Visit, settle  # noqa: E402
from service.policy_versions.catalog import PolicyCatalog  # noqa: E402
from service.policy_versions.service import store_policy  # noqa: E402
from service.regions.models import Hospital, Region  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.settlements.models import Settlement, SettlementReversal  # noqa: E402
from service.unit_of_work import unit_of_work  # noqa: E402
from service.yearend.schemas import YearEndRunCreate  # noqa: E402
from service.yearend.service import run_year_end  # noqa: E402

S7 = Path(__file__).resolve().parents[1] / "tests/policy/examples/S7-year-end-top-up.yaml"
COUNTY, HOSPITAL, PEOPLE = "320211", "H320211001", 20_000


def _result(policy: Any, bill: Bill, visit: Visit, basic: int) -> dict[str, Any]:
    """The parts of a stored answer the year-end reads (render.py's shape)."""
    given = {"basic_insurance": basic, "critical_illness": 0}
    cats = frozenset({"medical_aid_recipient"})
    r = settle(policy, visit=visit, categories=cats, bill=bill, year={}, given=given)
    y = fen_to_yuan
    return {
        "inscp_scp_amt": y(bill.in_policy_fen),
        "layers": [
            {
                "code": x.code,
                "fund_type": x.fund_type,
                "name": x.name,
                "applied": x.applied,
                "ratio": x.ratio,
                "amount": y(x.amount_fen),
            }
            for x in r.layers
        ],
        "totals": {
            "total": y(r.total_fen),
            "waived": y(r.waived_fen),
            "fund_total": y(r.funds_total_fen),
            "patient_pays": y(r.patient_pays_fen),
            "patient_in_policy": y(r.patient_in_policy_fen),
            "patient_out_of_policy": y(r.patient_out_of_policy_fen),
            "actual_ratio": str(r.actual_ratio),
            "out_of_policy_share": str(r.out_of_policy_share),
        },
        "policy": {"content_hash": policy.content_hash, "version": policy.version},
    }


async def _seed(maker: Any, n: int) -> list[int]:
    async with unit_of_work(maker) as uow:
        s = uow.session
        s.add(Region(code="320000", name="江苏省", level="province"))
        s.add(Region(code="320200", name="无锡市", level="prefecture", parent_code="320000"))
        s.add(Region(code=COUNTY, name="滨湖区", level="county", parent_code="320200"))
        s.add(
            Hospital(
                code=HOSPITAL, name="医院", county_code=COUNTY, level="secondary", tier="county"
            )
        )
        await store_policy(s, text=S7.read_text(encoding="utf-8"), source="S7", loaded_by="bench")
    async with unit_of_work(maker) as uow:
        policy = await PolicyCatalog().for_region(
            uow.session, insured_region=COUNTY, on=date(2025, 6, 1)
        )
    rng = random.Random(7)
    admissions, settlements = [], []
    for i in range(n):
        person = rng.randrange(PEOPLE)
        on = date(2025, 1, 1) + timedelta(days=i * 364 // n)
        at = datetime(on.year, on.month, on.day, 2, tzinfo=UTC)
        inside = rng.randrange(1_000_00, 80_000_00)
        outside = inside * rng.randrange(0, 15) // 100
        bill = Bill(inside + outside, inside, outside)
        visit = Visit("inpatient", "secondary", "county", "in_county", True, True, on, on)
        result = _result(policy, bill, visit, inside * rng.randrange(40, 70) // 100)
        paid = sum(Decimal(x["amount"]) for x in result["layers"])
        key, masked = f"p{person:06d}", f"320211********{person:04d}"
        common = {"hospital_code": HOSPITAL, "county_code": COUNTY, "visit_id": f"V{i}"}
        admissions.append(
            {
                **common,
                "id": i + 1,
                "person_key": key,
                "person_masked": masked,
                "name_masked": "张*",
                "insured_county": COUNTY,
                "visit_type": "inpatient",
                "admitted_at": at,
                "location": "in_county",
                "referred": False,
                "categories": ["medical_aid_recipient"],
                "eligible": True,
                "eligibility": {},
                "deposit_taken_fen": 0,
                "status_source": "registry",
                "request_hash": "0" * 64,
                "response": {},
                "state": "settled",
                "created_at": at,
            }
        )
        settlements.append(
            {
                **common,
                "id": i + 1,
                "visit_seq": 1,
                "admission_id": i + 1,
                "his_settlement_id": f"S{i}",
                "request_hash": "s" * 64,
                "person_key": key,
                "person_masked": masked,
                "pool": COUNTY,
                "year": 2025,
                "settlement_mode": "one_stop",
                "mid_settlement": False,
                "admitted_at": at,
                "discharged_at": at,
                "total_fen": bill.total_fen,
                "funds_total_fen": int(paid * 100),
                "patient_pays_fen": bill.total_fen - int(paid * 100),
                "policy_region": "320200",
                "policy_version": policy.version,
                "policy_hash": policy.content_hash,
                "deltas": {},
                "result": result,
                "created_at": at,
            }
        )
    async with unit_of_work(maker) as uow:
        for chunk in range(0, n, 5_000):
            await uow.session.execute(
                sa.insert(table_of(Admission)), admissions[chunk : chunk + 5_000]
            )
            await uow.session.execute(
                sa.insert(table_of(Settlement)), settlements[chunk : chunk + 5_000]
            )
    return [s["id"] for s in settlements]


async def _time(maker: Any, label: str) -> None:
    body = YearEndRunCreate(region_code="320200", plan_year=2025)
    begun = time.perf_counter()
    async with unit_of_work(maker) as uow:
        run = await run_year_end(uow, PolicyCatalog(), principal=None, body=body, booked_by="bench")
    seconds = time.perf_counter() - begun
    print(
        f"{label:<28} {seconds:6.2f} s  people {run.persons_considered:,}  "
        f"rows booked {run.rows_booked:,}  booked {run.booked_now} yuan"
    )


async def main(url: str, n: int) -> None:
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    engine = create_engine(Settings(database_url=url, environment="test"))
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    maker = create_sessionmaker(engine)
    try:
        ids = await _seed(maker, n)
        print(f"{n:,} settlements of up to {PEOPLE:,} people, {url.split('://')[0]}")
        await _time(maker, "first run")
        await _time(maker, "second run (nothing new)")
        async with unit_of_work(maker) as uow:
            await uow.session.execute(
                sa.insert(table_of(SettlementReversal)),
                [
                    {"settlement_id": i, "reason": "bench", "deltas": {}, "reversed_by": "bench"}
                    for i in ids[::10]
                ],
            )
        await _time(maker, "after 10% reversed")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60_000))
