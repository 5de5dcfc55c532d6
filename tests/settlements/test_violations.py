"""Violations found at settlement are booked in the same transaction, with the numbers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.violations.models import Violation
from tests import factories
from tests.factories import KeyFactory, bill, settle, settlement_request


async def _violations(app: FastAPI) -> list[Violation]:
    async with app.state.sessionmaker() as s:
        return list((await s.exec(select(Violation).order_by(Violation.id))).all())  # type: ignore[arg-type]


async def test_insurance_only_settlement_of_an_eligible_patient_is_not_one_stop(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    payload = settlement_request(
        visit.visit_id, settlement_mode="insurance_only", bill=bill("20000.00")
    )
    result = await settle(client, hospital_headers, payload)
    applied = {item["code"]: item["applied"] for item in result["layers"]}
    assert applied == {
        "basic_insurance": True,
        "critical_illness": True,
        "medical_aid": False,
        "safety_net": False,
        "top_up": False,
    }
    assert "NOT_ONE_STOP" in result["violations_booked"]
    booked = {v.rule_code: v for v in await _violations(app)}
    not_one_stop = booked["NOT_ONE_STOP"]
    assert not_one_stop.source == "settlement"
    assert not_one_stop.source_ref == str(result["id"])
    assert not_one_stop.points_hundredths == 20
    assert not_one_stop.evidence["skipped_layers"] == ["medical_aid", "safety_net", "top_up"]
    assert not_one_stop.evidence["patient_pays"] == result["totals"]["patient_pays"]
    assert float(not_one_stop.evidence["patient_pays_one_stop"]) < float(
        not_one_stop.evidence["patient_pays"]
    )


async def test_one_stop_settlement_books_nothing_when_targets_are_met(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    result = await settle(
        client, hospital_headers, settlement_request(visit.visit_id, bill=bill("20000.00"))
    )
    assert result["violations_booked"] == []
    assert await _violations(app) == []
    assert {f["rule"] for f in result["findings"]} >= {"BELOW_TARGET_RATIO", "SELF_PAY_OVER_CAP"}


async def test_out_of_county_without_referral_books_improper_referral_with_the_cost(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    headers = await make_key("hospital", hospital_code=factories.NEIGHBOUR_HOSPITAL)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s,
            hospital_code=factories.NEIGHBOUR_HOSPITAL,
            county_code=factories.NEIGHBOUR_COUNTY,
            location="out_of_county",
            referred=False,
        )
    result = await settle(
        client, headers, settlement_request(visit.visit_id, bill=bill("20000.00", "100.00"))
    )
    assert "IMPROPER_REFERRAL" in result["violations_booked"]
    booked = {v.rule_code: v for v in await _violations(app)}
    evidence = booked["IMPROPER_REFERRAL"].evidence
    assert evidence["location"] == "out_of_county"
    assert float(evidence["patient_extra"]) > 0
    assert booked["IMPROPER_REFERRAL"].county_code == factories.NEIGHBOUR_COUNTY


async def test_an_outside_referral_that_costs_nothing_is_not_booked(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    headers = await make_key("hospital", hospital_code=factories.NEIGHBOUR_HOSPITAL)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s,
            hospital_code=factories.NEIGHBOUR_HOSPITAL,
            county_code=factories.NEIGHBOUR_COUNTY,
            location="out_of_county",
            referred=True,
        )
    result = await settle(
        client, headers, settlement_request(visit.visit_id, bill=bill("20000.00"))
    )
    assert "IMPROPER_REFERRAL" not in result["violations_booked"]


async def test_a_below_target_ratio_is_booked_with_the_measured_ratio(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    # A covered patient at a province (tertiary) hospital out of county: no top-up applies.
    headers = await make_key("hospital", hospital_code=factories.PROVINCE_HOSPITAL)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s,
            hospital_code=factories.PROVINCE_HOSPITAL,
            county_code="990101",
            location="out_of_county",
            referred=True,
        )
    result = await settle(
        client, headers, settlement_request(visit.visit_id, bill=bill("20000.00", "5000.00"))
    )
    assert "BELOW_TARGET_RATIO" in result["violations_booked"]
    below = {v.rule_code: v for v in await _violations(app)}["BELOW_TARGET_RATIO"]
    assert below.evidence["measured"] == result["totals"]["actual_ratio"]
    assert below.evidence["limit"] == "0.90"
    assert below.policy_hash == result["policy"]["content_hash"]


async def test_a_preview_reports_findings_and_books_nothing(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    payload = settlement_request(
        visit.visit_id, settlement_mode="insurance_only", bill=bill("20000.00")
    )
    previewed = {k: v for k, v in payload.items() if k != "his_settlement_id"}
    response = await client.post(
        "/v1/settlements/preview", json=previewed, headers=hospital_headers
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert "NOT_ONE_STOP" in preview["violation_findings"]
    assert preview["violations_booked"] is None  # a preview books nothing
    assert await _violations(app) == []
    settled = await settle(client, hospital_headers, payload)
    assert settled["violations_booked"] == settled["violation_findings"]
    assert settled["violation_findings"] == preview["violation_findings"]
    assert sorted(v.rule_code for v in await _violations(app)) == sorted(
        settled["violations_booked"]
    )
