"""Two runs of the same year at once book it once: both read that nothing was booked before
either books (a barrier holds them), both book position 1, and the unique key lets one win;
the other rolls back and runs again against what the winner booked, which books nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.yearend.store import SqlYearEndStore
from tests import factories
from tests.factories import KeyFactory, at, bill, settle

pytestmark = pytest.mark.postgres

COUNTY, HOSPITAL = "320211", "H320211001"


async def test_two_simultaneous_runs_book_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    s7_region: None,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = await make_key("hospital", hospital_code=HOSPITAL)
    for n, (inside, basic) in enumerate((("100000.00", "50000.00"), ("80000.00", "40000.00"))):
        visit = await factories.make_admission(
            session,
            hospital_code=HOSPITAL,
            county_code=COUNTY,
            insured_county=COUNTY,
            resident=factories.resident_id(region=COUNTY, seq=n + 1),
            categories=["medical_aid_recipient"],
            admitted_at=at(2025, 5, 1),
        )
        await settle(
            client,
            headers,
            {
                "visit_id": visit.visit_id,
                "his_settlement_id": f"C-{n}",
                "discharged_at": "2025-05-20T09:00:00+08:00",
                "bill": bill(inside),
                "external_amounts": {"basic_insurance": basic, "critical_illness": "0.00"},
            },
        )

    barrier = asyncio.Barrier(2)
    original = SqlYearEndStore.booked
    reads = 0

    async def booked_together(self: SqlYearEndStore, **kwargs: Any) -> Any:
        nonlocal reads
        found = await original(self, **kwargs)
        reads += 1
        if reads <= 2:  # each run's first read waits for the other's
            await asyncio.wait_for(barrier.wait(), timeout=10)
        return found

    monkeypatch.setattr(SqlYearEndStore, "booked", booked_together)
    admin = await make_key("admin")
    body = {"region_code": "320200", "plan_year": 2025}
    answers = await asyncio.gather(
        *(client.post("/v1/year-end/runs", json=body, headers=admin) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    runs = [a.json() for a in answers]
    assert reads == 3  # the loser read again after its rollback
    # Each person: self-pay 15000.00 (50000 x 0.30) above 10000.00 -> 5000.00, and
    # 12000.00 above 8000.00 -> 4000.00; booked by one run, nothing by the other.
    assert sorted(r["booked_now"] for r in runs) == ["0.00", "9000.00"]
    assert sorted(r["rows_booked"] for r in runs) == [0, 2]
    ledger = await client.get(
        "/v1/year-end/payments", params={"region_code": "320200", "plan_year": 2025}, headers=admin
    )
    payments = ledger.json()["payments"]
    assert sorted(p["amount"] for p in payments) == ["4000.00", "5000.00"]
    assert {p["seq"] for p in payments} == {1}
    assert ledger.json()["funds"] == [{"fund_type": "medical_aid", "total": "9000.00"}]
