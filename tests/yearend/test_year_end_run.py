"""The year-end top-up through the API and the CLI: the S7 worked example's rule (the year's
in-catalogue self-pay above 10% of the year's in-catalogue cost is topped up by medical aid)
over a person's three stays, run twice, then after a reversal.

Hand calculation (all stays local, a medical-aid recipient, basic insurance and critical
illness given; medical aid 70% of the in-catalogue rest):
- stay 1 (E3 as published): in-catalogue 135000.00, self-pay in catalogue 8703.06;
- stay 2: 60000.00, basic 20000.00: aid 28000.00, self-pay 12000.00;
- stay 3: 5000.00, basic 3000.00: aid 1400.00, self-pay 600.00.
The year: self-pay 21303.06 above 10% of 200000.00 = 20000.00: top-up 1303.06. Without stay 3:
20703.06 above 19500.00: 1203.06 (the S7 case), so its reversal books -100.00.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service import cli
from service.china_time import today
from service.settings import Settings
from tests import factories
from tests.factories import KeyFactory, at, settle

KeyFor = Callable[[], Awaitable[dict[str, str]]]
PREFECTURE, COUNTY = factories.S7_PREFECTURE, factories.S7_COUNTY
_stay = factories.s7_stay


async def _run(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    payload = {"region_code": PREFECTURE, "plan_year": 2025, **body}
    return await client.post("/v1/year-end/runs", json=payload, headers=headers)


async def _booked(
    client: httpx.AsyncClient, headers: dict[str, str], region: str = PREFECTURE
) -> dict[str, Any]:
    answer = await client.get(
        "/v1/year-end/payments", params={"region_code": region, "plan_year": 2025}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _entry(run: dict[str, Any]) -> dict[str, Any]:
    (person,) = run["persons"]
    (entry,) = person["entries"]
    return dict(entry)


async def test_three_stays_book_the_hand_calculated_top_up_once_and_a_reversal_its_difference(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = await hospital_key()
    stays = [await _stay(client, session, headers, n) for n in range(3)]
    assert [s["totals"]["patient_in_policy"] for s in stays] == ["8703.06", "12000.00", "600.00"]
    auditor = await make_key("auditor", region_prefix="32")

    first = await _run(client, auditor)
    assert first.status_code == 200, first.text
    run = first.json()
    assert (run["persons_considered"], run["rows_booked"], run["booked_now"]) == (1, 1, "1303.06")
    entry = _entry(run)
    assert (entry["cost"], entry["self_pay"], entry["deductible"]) == (
        "200000.00",
        "21303.06",
        "20000.00",
    )
    assert (entry["year_total"], entry["booked_before"], entry["booked_now"], entry["stays"]) == (
        "1303.06",
        "0.00",
        "1303.06",
        3,
    )
    assert run["persons"][0]["person_masked"].count("*") == 8  # masked, never the full number
    assert run["funds"] == [
        {
            "fund_type": "medical_aid",
            "year_total": "1303.06",
            "booked_before": "0.00",
            "booked_now": "1303.06",
        }
    ]

    again = (await _run(client, auditor)).json()
    assert (again["rows_booked"], again["booked_now"]) == (0, "0.00")
    assert _entry(again)["booked_before"] == "1303.06"

    reversed_ = await client.post(
        f"/v1/settlements/{stays[2]['id']}/reversal",
        json={"reason": "费用录入错误"},
        headers=headers,
    )
    assert reversed_.status_code in (200, 201), reversed_.text
    after = (await _run(client, auditor)).json()
    assert (after["rows_booked"], after["booked_now"]) == (1, "-100.00")
    assert _entry(after)["year_total"] == "1203.06"  # the S7 example's figure

    ledger = await _booked(client, auditor)
    assert [(p["seq"], p["amount"], p["year_total"]) for p in ledger["payments"]] == [
        (1, "1303.06", "1303.06"),
        (2, "-100.00", "1203.06"),
    ]
    assert ledger["payments"][1]["stays"] == 2
    assert len(ledger["payments"][1]["settlement_ids"]) == 2
    assert ledger["payments"][0]["booked_by"].startswith("auditor:32")
    # The booked rows add up to a fresh computation over the active settlements.
    fresh = (await _run(client, await make_key("admin"), dry_run=True)).json()
    assert ledger["funds"] == [{"fund_type": "medical_aid", "total": "1203.06"}]
    assert fresh["funds"][0]["year_total"] == "1203.06"
    assert (fresh["dry_run"], fresh["rows_booked"], fresh["booked_now"]) == (True, 0, "0.00")
    # The runs logged what they did, and no person: neither key nor masked number.
    said = [r.getMessage() for r in caplog.records if r.name == "settlecheck.yearend"]
    assert len(said) == 3
    person = factories.make_person_key(factories.resident_id(region=COUNTY, seq=1))
    assert not [line for line in said if person in line or "*" in line]


async def test_a_late_settlement_books_a_positive_adjustment_and_a_dry_run_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    headers, admin = await hospital_key(), await make_key("admin")
    for n in (0, 1):
        await _stay(client, session, headers, n)
    dry = (await _run(client, admin, dry_run=True)).json()
    assert (dry["booked_now"], dry["rows_booked"]) == ("1203.06", 0)
    assert (await _booked(client, admin))["payments"] == []
    assert (await _run(client, admin)).json()["booked_now"] == "1203.06"
    await _stay(client, session, headers, 2)  # a settlement of 2025 made after the run
    late = (await _run(client, admin)).json()
    assert (late["booked_now"], _entry(late)["year_total"]) == ("100.00", "1303.06")
    assert [p["amount"] for p in (await _booked(client, admin))["payments"]] == [
        "1203.06",
        "100.00",
    ]


async def test_a_region_whose_policy_has_no_year_end_gets_nothing(
    client: httpx.AsyncClient, session: AsyncSession, make_key: KeyFactory
) -> None:
    visit = await factories.make_admission(session, admitted_at=at(2025, 3, 1))
    hospital = await make_key("hospital", hospital_code=factories.COUNTY_HOSPITAL)
    payload = factories.settlement_request(
        visit.visit_id, discharged_at="2025-03-10T10:00:00+08:00"
    )
    await settle(client, hospital, payload)
    admin = await make_key("admin")
    run = (await _run(client, admin, region_code=factories.COUNTY)).json()
    assert (run["persons_considered"], run["persons"], run["rows_booked"]) == (1, [], 0)
    assert run["funds"] == []
    assert (await _booked(client, admin, factories.COUNTY))["payments"] == []


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"plan_year": "this"}, 422, "plan_year_not_over", "plan_year"),
        ({"plan_year": 2999}, 422, "plan_year_out_of_range", "plan_year"),
        ({"plan_year": 1999}, 422, "plan_year_out_of_range", "plan_year"),
        # No settlement held for the year: refused, not an empty run read as "nothing owed".
        ({"plan_year": 2000}, 422, "plan_year_before_records", "plan_year"),
        ({"plan_year": 2025, "dry_run": True}, 422, "plan_year_before_records", "plan_year"),
        ({"region_code": "320299"}, 404, "region_not_found", "region_code"),
        ({"region_code": "990102"}, 404, "region_out_of_scope", "region_code"),
        ({"region_code": "320000"}, 404, "region_out_of_scope", "region_code"),
    ],
)
async def test_a_run_is_refused_with_a_code_and_the_field(
    client: httpx.AsyncClient,
    hospital_key: KeyFor,
    make_key: KeyFactory,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    if body.get("plan_year") == "this":
        body = {"plan_year": today().year}
    auditor = await make_key("auditor", region_prefix="3202")  # the prefecture, not the province
    answer = await _run(client, auditor, **body)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["code"] == code
    assert problem["errors"][0]["field"] == field


async def test_a_year_before_the_regions_first_stay_is_refused_and_its_first_year_runs(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    await _stay(client, session, await hospital_key(), 1)
    admin = await make_key("admin")
    before = await _run(client, admin, plan_year=2024)
    assert before.status_code == 422, before.text
    assert before.json()["code"] == "plan_year_before_records"
    assert "2025-01-01" in before.json()["detail"]
    assert (await _run(client, admin, plan_year=2025)).json()["rows_booked"] == 1
    # the future stays refused as it was: by the year's end, then by the range
    future = (await _run(client, admin, plan_year=today().year + 1)).json()
    assert future["code"] == "plan_year_not_over"
    assert (await _run(client, admin, plan_year=2999)).json()["code"] == "plan_year_out_of_range"


async def test_hospitals_funds_and_other_regions_neither_run_nor_read(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    headers = await hospital_key()
    await _stay(client, session, headers, 1)
    assert (await _run(client, await make_key("admin"))).json()["rows_booked"] == 1
    fund = await make_key("fund", fund_code="F99-AID", region_prefix="32")
    for key in (headers, fund):
        assert (await _run(client, key)).status_code == 403
        read = await client.get(
            "/v1/year-end/payments",
            params={"region_code": PREFECTURE, "plan_year": 2025},
            headers=key,
        )
        assert read.status_code == 403
    other = await make_key("auditor", region_prefix="99")
    assert (await _run(client, other)).json()["code"] == "region_out_of_scope"
    read = await client.get(
        "/v1/year-end/payments",
        params={"region_code": PREFECTURE, "plan_year": 2025},
        headers=other,
    )
    assert (read.status_code, read.json()["code"]) == (404, "region_out_of_scope")
    county = await make_key("auditor", region_prefix=COUNTY)
    assert len((await _booked(client, county, COUNTY))["payments"]) == 1
    assert (await _booked(client, await make_key("auditor", region_prefix="99"), "990102"))[
        "payments"
    ] == []


async def test_the_cli_runs_the_same_year_end(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = await hospital_key()
    for n in (0, 1):
        await _stay(client, session, headers, n)
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    argv = ["yearend", "run", "--region", PREFECTURE, "--plan-year", "2025"]
    assert await asyncio.to_thread(cli.main, [*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run (nothing stored)" in out
    assert re.search(r"medical_aid\s+1203\.06\s+0\.00\s+1203\.06", out)
    assert (await _booked(client, await make_key("admin")))["payments"] == []
    assert await asyncio.to_thread(cli.main, [*argv, "--by", "county-office"]) == 0
    assert "rows booked: 1; booked now: 1203.06" in capsys.readouterr().out
    (row,) = (await _booked(client, await make_key("admin")))["payments"]
    assert (row["amount"], row["booked_by"]) == ("1203.06", "cli:county-office")
    assert await asyncio.to_thread(cli.main, [*argv[:-1], "2999"]) == 2
    assert "plan_year_out_of_range" in capsys.readouterr().err
