"""A period that crosses a change of target is held to each part's own target (ADR 0018,
update): next year's county version lowers the inpatient target from 90% to 80% from 1 January,
and December to January is measured against both, weighted by each part's cost, not against
January's alone (it was: the version in force on the period's last day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.china_time import today
from tests import factories as f

JANUARY = date(today().year + 1, 1, 1)
DECEMBER = date(JANUARY.year - 1, 12, 1)


def assert_target(share: dict[str, Any], value: str, target: str, meets: bool) -> None:
    assert (share["value"], share["target"], share["meets_target"]) == (value, target, meets)


@pytest.fixture
async def stays(app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    text = f.county_text(JANUARY.isoformat()) + 'controls:\n  target_ratio: {inpatient: "0.80"}\n'
    loaded = await client.post("/v1/policies", json={"source_text": text}, headers=admin_headers)
    assert loaded.status_code == 201, loaded.text
    december = f.admission(visit_id="d1", admitted_at=datetime(DECEMBER.year, 12, 1, tzinfo=UTC))
    january = f.admission(visit_id="j1", admitted_at=datetime(JANUARY.year, 1, 2, tzinfo=UTC))
    async with app.state.sessionmaker() as session:
        session.add_all([december, january])
        await session.flush()
        session.add_all(
            [
                f.settlement(
                    december,
                    year=DECEMBER.year,
                    discharged_at=datetime(DECEMBER.year, 12, 10, 2, tzinfo=UTC),
                    total_fen=3000_00,
                    funds_total_fen=2550_00,
                ),
                f.settlement(
                    january,
                    year=JANUARY.year,
                    discharged_at=datetime(JANUARY.year, 1, 10, 2, tzinfo=UTC),
                    total_fen=1000_00,
                    funds_total_fen=850_00,
                ),
            ]
        )
        await session.commit()


async def _inpatient(
    client: httpx.AsyncClient, headers: dict[str, str], start: date, end: date
) -> dict[str, Any]:
    params = {"region": f.COUNTY, "from": start.isoformat(), "to": end.isoformat()}
    answer = await client.get("/v1/indicators", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    share: dict[str, Any] = answer.json()["actual_ratio_inpatient"]
    return share


async def test_a_period_across_the_change_is_held_to_each_parts_target(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], stays: None
) -> None:
    both = await _inpatient(client, auditor_headers, DECEMBER, JANUARY.replace(day=31))
    # (0.90 x 3000.00 + 0.80 x 1000.00) / 4000.00 = 0.875: 0.85 misses it
    assert_target(both, "0.8500", "0.8750", False)


async def test_each_side_of_the_change_keeps_its_own_target(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], stays: None
) -> None:
    december = await _inpatient(client, auditor_headers, DECEMBER, DECEMBER.replace(day=31))
    assert_target(december, "0.8500", "0.90", False)
    january = await _inpatient(client, auditor_headers, JANUARY, JANUARY.replace(day=31))
    assert_target(january, "0.8500", "0.80", True)
