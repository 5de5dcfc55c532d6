"""Findings at admission go to the ledger in the same transaction; deposits from eligible
patients are DEPOSIT_CHARGED; reversal cancels the admission and keeps the ledger."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from sqlmodel import select

from service.admissions.models import AdmissionEvent
from service.violations.models import Violation
from tests import factories
from tests.factories import person_route


async def _violations(app: FastAPI) -> list[Violation]:
    async with app.state.sessionmaker() as s:
        return list((await s.exec(select(Violation).order_by(Violation.id))).all())  # type: ignore[arg-type]


async def _admit(
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    headers: dict[str, str],
    person: dict[str, Any],
    seq: int,
    **kw: Any,
) -> dict[str, Any]:
    id_number = factories.resident_id(seq=seq)
    person_route(registry, id_number).respond(200, json=person)
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(id_number=id_number, **kw),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("person", "visit", "rule", "problem"),
    [
        (factories.registry_person(family_doctor_until=None), {}, "NO_FAMILY_DOCTOR", None),
        (
            factories.registry_person(family_doctor_until="2025-12-31"),
            {},
            "NO_FAMILY_DOCTOR",
            None,
        ),
        (
            factories.registry_person(chronic_card_until="2025-06-30"),
            {"visit_type": "chronic_outpatient"},
            "CHRONIC_CARD_MISSING",
            None,
        ),
        (
            factories.registry_person(),
            {"visit_type": "chronic_outpatient"},
            "CHRONIC_CARD_MISSING",
            None,
        ),
        (
            factories.registry_person(deceased=True),
            {},
            "REGISTRY_INCONSISTENT",
            "deceased_but_active",
        ),
        (
            factories.registry_person("destitute", "minimum_living"),
            {},
            "REGISTRY_INCONSISTENT",
            "categories_contradict",
        ),
        (
            # the HIS's county is the wrong one: the registry's decides (test_insured_county.py)
            factories.registry_person(),
            {"insured_county": factories.NEIGHBOUR_COUNTY},
            "REGISTRY_INCONSISTENT",
            "insured_county_mismatch",
        ),
    ],
)
async def test_each_admission_finding_is_booked_with_evidence(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    person: dict[str, Any],
    visit: dict[str, Any],
    rule: str,
    problem: str | None,
) -> None:
    body = await _admit(client, registry, hospital_headers, person, 401, **visit)
    assert [v["rule_code"] for v in body["violations"]] == [rule]
    assert body["violations"][0]["points"] == "0.2"
    [violation] = await _violations(app)
    assert violation.id == body["violations"][0]["id"]
    assert (violation.rule_code, violation.source, violation.visit_id) == (
        rule,
        "admission",
        "V-0001",
    )
    assert violation.hospital_code == factories.COUNTY_HOSPITAL
    assert violation.county_code == factories.COUNTY
    assert violation.points_hundredths == 20
    assert violation.person_masked == body["person_masked"]
    assert violation.evidence["status_source"] == "registry"
    if problem:
        assert violation.evidence["problem"] == problem


async def test_improper_referral_is_booked_against_the_admitting_hospitals_county(
    app: FastAPI,
    client: httpx.AsyncClient,
    other_hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await _admit(client, registry, other_hospital_headers, factories.registry_person(), 402)
    [violation] = await _violations(app)
    assert violation.rule_code == "IMPROPER_REFERRAL"
    assert violation.county_code == factories.NEIGHBOUR_COUNTY
    assert violation.evidence["location"] == "out_of_county"


async def test_people_outside_the_programme_get_no_programme_findings(
    app: FastAPI,
    client: httpx.AsyncClient,
    other_hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person = factories.registry_person("low_income_edge", family_doctor_until=None)
    await _admit(client, registry, other_hospital_headers, person, 403)
    assert await _violations(app) == []


async def test_a_replayed_admission_books_nothing_twice(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person = factories.registry_person(family_doctor_until=None)
    await _admit(client, registry, hospital_headers, person, 404)
    await _admit(client, registry, hospital_headers, person, 404)
    assert len(await _violations(app)) == 1


DEPOSIT = {"receipt_no": "R-1", "amount": "2000.00", "taken_at": "2026-03-10T09:00:00+08:00"}


async def test_a_deposit_from_an_eligible_patient_is_charged_and_must_be_refunded(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await _admit(client, registry, hospital_headers, factories.registry_person(), 405)
    response = await client.post(
        "/v1/admissions/V-0001/deposits", json=DEPOSIT, headers=hospital_headers
    )
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert outcome["refund_required"] is True
    assert outcome["refund_fen"] == 2000_00
    assert "refund" in outcome["message"]
    [violation] = await _violations(app)
    assert violation.rule_code == "DEPOSIT_CHARGED"
    assert outcome["violation"] == {
        "id": violation.id,
        "rule_code": "DEPOSIT_CHARGED",
        "points": "0.2",
    }
    assert violation.source == "deposit"
    assert violation.evidence["amount_fen"] == 2000_00
    assert violation.evidence["receipt_no"] == "R-1"
    assert violation.evidence["deposit_allowed_fen"] == 0

    retry = await client.post(
        "/v1/admissions/V-0001/deposits", json=DEPOSIT, headers=hospital_headers
    )
    assert (retry.status_code, retry.content) == (201, response.content)
    changed = await client.post(
        "/v1/admissions/V-0001/deposits",
        json=DEPOSIT | {"amount": "1.00"},
        headers=hospital_headers,
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "deposit_conflict"
    assert len(await _violations(app)) == 1
    detail = (await client.get("/v1/admissions/V-0001", headers=hospital_headers)).json()
    assert detail["deposit_taken"] == "2000.00"


async def test_a_deposit_from_a_patient_not_eligible_is_just_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person = factories.registry_person("medical_aid_recipient")
    await _admit(client, registry, hospital_headers, person, 406)
    response = await client.post(
        "/v1/admissions/V-0001/deposits", json=DEPOSIT, headers=hospital_headers
    )
    assert response.json()["refund_required"] is False
    assert response.json()["violation"] is None
    assert await _violations(app) == []


async def test_a_deposit_when_the_status_was_unknown_books_nothing_but_warns(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=407)
    person_route(registry, id_number).respond(503)
    await client.post(
        "/v1/admissions",
        json=factories.admission_request(id_number=id_number),
        headers=hospital_headers,
    )
    response = await client.post(
        "/v1/admissions/V-0001/deposits", json=DEPOSIT, headers=hospital_headers
    )
    assert response.json()["refund_required"] is False
    assert "unknown" in response.json()["message"]
    assert await _violations(app) == []


async def test_reversal_cancels_the_admission_keeps_findings_and_refuses_deposits(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    person = factories.registry_person(family_doctor_until=None)
    await _admit(client, registry, hospital_headers, person, 408)
    reversal = {"reason": "registration cancelled at the desk"}
    response = await client.post(
        "/v1/admissions/V-0001/reversal", json=reversal, headers=hospital_headers
    )
    assert response.status_code == 200
    assert response.json()["state"] == "reversed"
    assert response.json()["reversal_reason"] == reversal["reason"]
    again = await client.post(
        "/v1/admissions/V-0001/reversal", json=reversal, headers=hospital_headers
    )
    assert again.json()["reversed_at"] == response.json()["reversed_at"]
    read = await client.get("/v1/admissions/V-0001", headers=hospital_headers)
    assert read.json()["state"] == "reversed"
    deposit = await client.post(
        "/v1/admissions/V-0001/deposits", json=DEPOSIT, headers=hospital_headers
    )
    assert deposit.status_code == 409
    assert deposit.json()["code"] == "admission_reversed"
    assert len(await _violations(app)) == 1
    async with app.state.sessionmaker() as s:
        kinds = [
            e.kind for e in (await s.exec(select(AdmissionEvent).order_by(AdmissionEvent.id))).all()
        ]  # type: ignore[arg-type]
    assert kinds == ["admitted", "reversed"]


async def test_reversing_an_unknown_admission_is_404(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/admissions/NOPE/reversal", json={"reason": "x"}, headers=hospital_headers
    )
    assert response.status_code == 404
