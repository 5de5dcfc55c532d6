"""The S7 worked example's stays (tests/yearend/test_year_end_run.py has the hand calculation):
a medical-aid recipient's local stays of 2025 under the S7 policy the conftest loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.factories import at, bill, settle

PREFECTURE, COUNTY, HOSPITAL = "320200", "320211", "H320211001"
S7 = Path(__file__).parents[1] / "policy" / "examples" / "S7-year-end-top-up.yaml"
STAYS = (  # (month, in-catalogue, out-of-catalogue, basic insurance, critical illness)
    (3, "135000.00", "15000.00", "68828.00", "37161.80"),
    (6, "60000.00", "0.00", "20000.00", "0.00"),
    (9, "5000.00", "0.00", "3000.00", "0.00"),
)


async def s7_stay(
    client: httpx.AsyncClient, session: AsyncSession, headers: dict[str, str], n: int, seq: int = 1
) -> dict[str, Any]:
    month, inside, outside, basic, critical = STAYS[n]
    visit = await factories.make_admission(
        session,
        hospital_code=HOSPITAL,
        county_code=COUNTY,
        insured_county=COUNTY,
        resident=factories.resident_id(region=COUNTY, seq=seq),
        categories=["medical_aid_recipient"],
        admitted_at=at(2025, month, 1),
    )
    return await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": f"YE-{seq}-{n}",
            "discharged_at": f"2025-{month:02d}-20T09:00:00+08:00",
            "bill": bill(inside, outside),
            "external_amounts": {"basic_insurance": basic, "critical_illness": critical},
        },
    )
