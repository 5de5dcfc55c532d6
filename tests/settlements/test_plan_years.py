"""Plan years that are not the calendar year, and the date that chooses the version (ADR 0018)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI

from service.policy.plan_year import plan_year_bounds, plan_year_of, split_days
from service.policy.schema import PlanYear
from tests import factories
from tests.factories import at, bill, settle, settlement_request

SUCCESSOR = """
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 大病保险年度 10月起
version: "{version}"
effective_from: {start}
effective_to: null
sources: ["test: a critical-illness contract running October to September"]
plan_year: {plan_year}
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "0.00"}}
"""


def successor(start: str, plan_year: str, version: str = "oct-2024") -> str:
    return SUCCESSOR.format(start=start, plan_year=plan_year, version=version)


def layer(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in result["layers"] if item["code"] == code)


async def _load(client: httpx.AsyncClient, headers: dict[str, str], text: str) -> dict[str, Any]:
    answer = await client.post("/v1/policies", json={"source_text": text}, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _stay(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    resident: str,
    admitted: date,
    discharged: date,
    insured_county: str = factories.COUNTY,
) -> dict[str, Any]:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s,
            resident=resident,
            insured_county=insured_county,
            visit_id=f"P{admitted:%Y%m%d}",
            admitted_at=at(admitted.year, admitted.month, admitted.day),
        )
    payload = settlement_request(
        visit.visit_id,
        his=f"S{admitted:%Y%m%d}",
        discharged_at=f"{discharged.isoformat()}T10:00:00+08:00",
        bill=bill("60000.00"),
    )
    return await settle(client, headers, payload)


def test_a_plan_year_from_october_is_named_by_the_year_it_starts() -> None:
    october = PlanYear(starts="10-01")
    assert plan_year_of(october, date(2024, 9, 30)) == 2023
    assert plan_year_of(october, date(2024, 10, 1)) == 2024
    assert plan_year_of(october, date(2025, 9, 30)) == 2024
    assert plan_year_bounds(october, 2024) == (date(2024, 10, 1), date(2025, 9, 30))
    assert plan_year_of(PlanYear(), date(2024, 12, 31)) == 2024


def test_a_stay_is_cut_at_the_plan_year_end_by_bed_days() -> None:
    calendar = PlanYear()
    parts = split_days(calendar, admitted_on=date(2024, 12, 20), discharged_on=date(2025, 1, 10))
    assert [(p.year, p.days) for p in parts] == [(2024, 12), (2025, 9)]
    assert sum(p.days for p in parts) == (date(2025, 1, 10) - date(2024, 12, 20)).days
    one = split_days(calendar, admitted_on=date(2024, 5, 1), discharged_on=date(2024, 5, 1))
    assert [(p.year, p.days) for p in one] == [(2024, 1)]


async def test_accumulators_follow_a_plan_year_from_october(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """邻县's first version runs October to September from the province's first day: no rules
    before it to move (a move that names a plan year again is refused, ADR 0018)."""
    neighbour = successor("2024-01-01", "{starts: 10-01}").replace('"990102"', '"990103"')
    await _load(client, admin_headers, neighbour.replace("演示县", "邻县"))
    resident = factories.resident_id(region="990103", seq=41)
    stays = [
        await _stay(app, client, hospital_headers, resident, admitted, discharged, "990103")
        for admitted, discharged in (
            (date(2024, 9, 20), date(2024, 9, 28)),
            (date(2024, 10, 2), date(2024, 10, 8)),
            (date(2025, 2, 1), date(2025, 2, 10)),
        )
    ]
    september, october, february = stays
    assert [r["year"] for r in (september, october, february)] == [2023, 2024, 2024]
    # the critical-illness threshold is taken once per plan year: again in October, not in
    # the February of the same plan year
    assert [
        layer(r, "critical_illness")["deductible_used"] for r in (september, october, february)
    ] == ["5000.00", "5000.00", "0.00"]


async def test_the_admission_date_can_choose_the_version(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    old = next(
        v
        for v in (await client.get("/v1/policies", headers=admin_headers)).json()
        if v["region_code"] == "990102"
    )
    await _load(
        client, admin_headers, successor("2024-03-05", "{version_date: admission}", "by-admission")
    )
    resident = factories.resident_id(region=factories.COUNTY, seq=42)
    across = await _stay(
        app, client, hospital_headers, resident, date(2024, 3, 1), date(2024, 3, 10)
    )
    after = await _stay(
        app, client, hospital_headers, resident, date(2024, 3, 6), date(2024, 3, 12)
    )
    assert across["policy"]["content_hash"] == old["content_hash"]  # admitted before the new one
    assert after["policy"]["version"] == "by-admission"


async def test_the_settlement_date_can_choose_the_version(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    await _load(
        client, admin_headers, successor("2024-03-05", "{version_date: settlement}", "by-day")
    )
    later = successor("2025-01-01", "{version_date: settlement}", "today")
    await _load(client, admin_headers, later)
    resident = factories.resident_id(region=factories.COUNTY, seq=43)
    result = await _stay(
        app, client, hospital_headers, resident, date(2024, 3, 6), date(2024, 3, 9)
    )
    assert result["policy"]["version"] == "today"  # settled today (after 2025-01-01)
    assert result["year"] == 2024  # the year is still the discharge date's


def test_a_document_without_plan_year_keeps_the_hash_it_had_before_the_section() -> None:
    import hashlib
    import json

    from service.policy_versions.service import compile_all
    from service.policy_versions.shipped import shipped_policy_texts

    for policy in compile_all(shipped_policy_texts()):
        assert policy.document.plan_year is None
        before = json.dumps(
            policy.document.model_dump(
                mode="json",
                by_alias=True,
                # and the key added since (ADR 0011, addendum), which no shipped text states
                exclude={
                    "plan_year": True,
                    "pooling": True,
                    "controls": {"pay_after_treatment": {"snapshot_max_age_days"}},
                },
            ),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        assert policy.content_hash == hashlib.sha256(before.encode()).hexdigest()
    with_section = shipped_policy_texts()["demo_990102_county.yaml"] + "plan_year: {}\n"
    texts = {**shipped_policy_texts(), "demo_990102_county.yaml": with_section}
    changed = next(p for p in compile_all(texts) if p.region_code == "990102")
    plain = next(p for p in compile_all(shipped_policy_texts()) if p.region_code == "990102")
    assert changed.content_hash != plain.content_hash  # stated, even as the defaults, it counts
