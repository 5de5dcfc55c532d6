"""Each FHIR interaction through HTTP: metadata, eligibility, claims, reads, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import respx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.fhir import systems
from tests import factories
from tests.fhir.conftest import FHIR, claim, fhir_body, outcome, post


def _naming_patient(element: str, resident: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two ways a resource names its patient by resident ID (service/fhir/patients.py):
    `element`'s own identifier, and a contained Patient `element` refers to."""
    identifier = {"system": systems.RESIDENT_ID, "value": resident}
    contained = {"resourceType": "Patient", "id": "p1", "identifier": [identifier]}
    return (
        {element: {"identifier": identifier}},
        {"contained": [contained], element: {"reference": "#p1"}},
    )


async def test_metadata_lists_exactly_what_is_offered(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await client.get("/fhir/metadata", headers=hospital_headers)
    assert response.status_code == 200
    body = fhir_body(response, "CapabilityStatement")
    assert body["fhirVersion"] == "4.3.0"
    assert body["format"] == [systems.FHIR_JSON]
    rest = body["rest"][0]
    offered = {r["type"]: [i["code"] for i in r["interaction"]] for r in rest["resource"]}
    assert offered == {
        "CoverageEligibilityRequest": ["create"],
        "Claim": ["create"],
        "ClaimResponse": ["read"],
        "Task": ["create"],
    }
    assert "PaymentReconciliation" in rest["documentation"]
    assert "not offered" in rest["documentation"].lower()


async def test_every_problem_is_an_operation_outcome(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    outcome(await client.get("/fhir/metadata"), 401, "unauthenticated")
    forbidden = await post(client, auditor_headers, "Claim", claim("V1"))
    assert outcome(forbidden, 403, "forbidden")["code"] == "forbidden"
    outcome(
        await client.get("/fhir/Patient/1", headers=hospital_headers),
        404,
        "fhir_unknown_interaction",
    )
    outcome(
        await client.delete("/fhir/Claim", headers=hospital_headers),
        404,
        "fhir_unknown_interaction",
    )
    missing = await client.get("/fhir/ClaimResponse/abc", headers=hospital_headers)
    outcome(missing, 404, "fhir_unknown_interaction")
    wrong_type = await client.post(
        "/fhir/Claim", content=b"<Claim/>", headers={**hospital_headers, "Content-Type": "text/xml"}
    )
    outcome(wrong_type, 415, "fhir_unsupported_media_type")
    not_json = await client.post("/fhir/Claim", content=b"{", headers={**hospital_headers, **FHIR})
    outcome(not_json, 422, "fhir_invalid_resource")
    incomplete = claim("V1")
    del incomplete["insurance"]
    issue = outcome(
        await post(client, hospital_headers, "Claim", incomplete), 422, "fhir_invalid_resource"
    )
    assert issue["expression"] == ["Claim.insurance"]
    assert issue["code"] == "invalid"
    patient = {"resourceType": "Patient"}
    outcome(await post(client, hospital_headers, "Claim", patient), 422, "fhir_invalid_resource")


async def test_eligibility_answers_categories_as_coverages_and_the_waiver_as_a_benefit(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=401)
    registry.get(f"/v1/persons/{id_number}").respond(
        200,
        json=factories.registry_person(
            "registered_poor", valid_from="2020-01-01", valid_to="2030-12-31"
        ),
    )
    request = {
        "resourceType": "CoverageEligibilityRequest",
        "identifier": [{"system": "urn:his:eligibility", "value": "E1"}],
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": id_number}},
        "servicedDate": "2024-03-10",
        "created": "2024-03-10T09:00:00+08:00",
        "insurer": {"display": "演示县医保局"},
    }
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    assert response.status_code == 200, response.text
    body = fhir_body(response, "CoverageEligibilityResponse")
    assert id_number not in response.text
    assert body["patient"]["identifier"]["system"] == systems.PERSON_KEY
    assert body["patient"]["display"] == id_number[:6] + "********" + id_number[-4:]
    assert body["request"]["identifier"]["value"] == "E1"
    assert body["outcome"] == "complete"
    coverage = body["contained"][0]
    assert coverage["type"]["coding"][0]["code"] == "registered_poor"
    assert coverage["period"] == {"start": "2020-01-01", "end": "2030-12-31"}
    insurance = body["insurance"][0]
    assert insurance["coverage"]["reference"] == "#category-registered-poor"
    assert insurance["inforce"] is True
    waiver = insurance["item"][0]
    assert waiver["category"]["coding"][0]["code"] == "pay-after-treatment"
    assert "deposit waived" in waiver["benefit"][0]["allowedString"]
    extensions = {e["url"]: e for e in body["extension"]}
    assert extensions[systems.EXT_SOURCE]["valueCode"] == "registry"
    assert systems.EXT_AS_OF in extensions


async def test_eligibility_needs_the_resident_id_system(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    request = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"identifier": {"system": "urn:other", "value": "x"}},
        "created": "2024-03-10",
        "insurer": {"display": "x"},
    }
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    issue = outcome(response, 422, "fhir_unsupported_content")
    assert issue["expression"] == ["CoverageEligibilityRequest.patient.identifier"]


def _adjudication(body: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    return {
        (a["category"]["coding"][0]["system"], a["category"]["coding"][0]["code"]): a["amount"][
            "value"
        ]
        for a in body["item"][0]["adjudication"]
    }


async def test_predetermination_answers_and_stores_nothing(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    response = await post(
        client, hospital_headers, "Claim", claim(visit.visit_id, use="predetermination")
    )
    assert response.status_code == 200, response.text
    body = fhir_body(response, "ClaimResponse")
    assert "id" not in body
    assert body["use"] == "predetermination"
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_a_claim_is_settled_once_per_identifier_and_cancelled_by_a_task(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    created = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    assert created.status_code == 201, created.text
    body = fhir_body(created, "ClaimResponse")
    assert created.headers["location"] == f"ClaimResponse/{body['id']}"
    stored = (await client.get(f"/v1/settlements/{body['id']}", headers=hospital_headers)).json()
    adjudication = _adjudication(body)
    assert adjudication[(systems.ADJUDICATION, "submitted")] == Decimal(stored["medfee_sumamt"])
    assert adjudication[(systems.ADJUDICATION, "eligible")] == Decimal(stored["inscp_scp_amt"])
    assert adjudication[(systems.ADJUDICATION, "benefit")] == Decimal(stored["fund_pay_sumamt"])
    assert adjudication[(systems.ADJUDICATION, "copay")] == Decimal(stored["psn_part_amt"])
    assert adjudication[(systems.FUND, "basic_insurance")] == Decimal(stored["hifp_pay"])
    assert adjudication[(systems.FUND, "medical_aid")] == Decimal(stored["maf_pay"])
    funds = sum(v for (system, _), v in adjudication.items() if system == systems.FUND)
    assert funds == Decimal(stored["fund_pay_sumamt"])
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in body["total"]}
    assert totals["copay"] + totals["benefit"] == totals["submitted"] == Decimal("20500.00")
    assert body["processNote"][0]["text"].startswith("城乡居民基本医疗保险")
    assert body["request"]["identifier"]["value"] == "HIS-S1"

    again = await post(
        client,
        hospital_headers,
        "Claim",
        claim(visit.visit_id),
        **{"If-None-Exist": "identifier=urn:his:settlement|HIS-S1"},
    )
    assert again.status_code == 200, again.text
    assert fhir_body(again, "ClaimResponse")["id"] == body["id"]
    different = claim(visit.visit_id, in_policy="19000.00")
    outcome(await post(client, hospital_headers, "Claim", different), 409, "settlement_conflict")

    task = {
        "resourceType": "Task",
        "identifier": [{"system": "urn:his:reversal", "value": "R-1"}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": systems.FINANCIAL_TASK, "code": "cancel"}]},
        "focus": {"reference": f"ClaimResponse/{body['id']}"},
        "reasonCode": {"text": "wrong bill"},
    }
    cancelled = await post(client, hospital_headers, "Task", task)
    assert cancelled.status_code == 201, cancelled.text
    done = fhir_body(cancelled, "Task")
    assert done["status"] == "completed"
    assert done["output"][0]["valueReference"]["reference"] == f"ClaimResponse/{body['id']}"
    read = await client.get(f"/fhir/ClaimResponse/{body['id']}", headers=hospital_headers)
    assert fhir_body(read, "ClaimResponse")["status"] == "cancelled"
    stored = (await client.get(f"/v1/settlements/{body['id']}", headers=hospital_headers)).json()
    assert stored["reversal"]["reason"] == "wrong bill"
    again_task = await post(client, hospital_headers, "Task", task)
    assert again_task.status_code == 201  # the same Task again: the same reversal
    assert "Idempotent-Replayed" not in cancelled.headers
    assert again_task.headers["Idempotent-Replayed"] == "true"  # ADR 0030
    assert fhir_body(again_task, "Task")["id"] == done["id"]
    # The replay answers as the first did (ADR 0030); authoredOn was the moment of each answer.
    assert again_task.text == cancelled.text
    other = {**task, "identifier": [{"value": "R-2"}]}
    outcome(await post(client, hospital_headers, "Task", other), 409, "settlement_already_reversed")


async def test_claim_problems_name_the_element_at_fault(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    visit = await factories.make_admission(session)
    unbalanced = claim(visit.visit_id)
    unbalanced["total"]["value"] = Decimal("1.00")
    issue = outcome(
        await post(client, hospital_headers, "Claim", unbalanced), 422, "fhir_unsupported_content"
    )
    assert issue["expression"] == ["Claim.total"]
    early = claim(visit.visit_id, discharged="2024-02-01T10:00:00+08:00")
    issue = outcome(
        await post(client, hospital_headers, "Claim", early), 422, "discharge_before_admission"
    )
    assert issue["expression"] == ["Claim.billablePeriod.end"]
    nobody = claim("NO-SUCH-VISIT")
    issue = outcome(await post(client, hospital_headers, "Claim", nobody), 404, "visit_not_found")
    assert issue["expression"] == ["Claim.item[0].encounter[0].identifier"]
    keyless = claim(visit.visit_id, identifier=None)
    outcome(await post(client, hospital_headers, "Claim", keyless), 422, "fhir_unsupported_content")
    mismatch = await post(
        client,
        hospital_headers,
        "Claim",
        claim(visit.visit_id),
        **{"If-None-Exist": "identifier=OTHER"},
    )
    outcome(mismatch, 422, "fhir_unsupported_content")
    made = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    made_id = fhir_body(made, "ClaimResponse")["id"]
    theirs = await client.get(f"/fhir/ClaimResponse/{made_id}", headers=other_hospital_headers)
    outcome(theirs, 404, "settlement_not_found")


async def test_a_claim_whose_items_name_two_visits_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    first = await factories.make_admission(session, visit_id="MX1")
    await factories.make_admission(session, visit_id="MX2", resident=factories.resident_id(seq=7))
    await session.commit()
    resource = claim(first.visit_id)
    resource["item"][1]["encounter"] = [{"identifier": {"system": systems.VISIT, "value": "MX2"}}]
    response = await post(client, hospital_headers, "Claim", resource)
    issue = outcome(response, 422, "fhir_unsupported_content")
    assert issue["expression"] == ["Claim.item[1].encounter"]
    for visit_id in ("MX1", "MX2"):
        listed = await client.get(f"/v1/settlements?visit_id={visit_id}", headers=hospital_headers)
        assert listed.json() == []


async def test_a_cancel_task_must_name_the_claim_response(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    await session.commit()
    made = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    settlement_id = fhir_body(made, "ClaimResponse")["id"]
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": systems.FINANCIAL_TASK, "code": "cancel"}]},
        "focus": {"reference": f"Claim/{settlement_id}"},
    }
    issue = outcome(
        await post(client, hospital_headers, "Task", task), 422, "fhir_unsupported_content"
    )
    assert issue["expression"] == ["Task.focus.reference"]
    stored = await client.get(f"/v1/settlements/{settlement_id}", headers=hospital_headers)
    assert stored.json()["reversal"] is None


def _eligibility_request(id_number: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": id_number}},
        "servicedDate": "2024-03-10",
        "created": "2024-03-10T09:00:00+08:00",
        "insurer": {"display": "演示县医保局"},
        **extra,
    }


async def test_eligibility_refuses_an_id_number_in_its_identifier(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    id_number = factories.resident_id(seq=402)
    request = _eligibility_request(
        id_number, identifier=[{"system": "urn:his", "value": id_number}]
    )
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    issue = outcome(response, 422, "resident_id_in_text")
    assert issue["expression"] == ["CoverageEligibilityRequest.identifier[0].value"]
    assert id_number not in response.text


async def test_eligibility_masks_an_id_number_in_the_insurer_display(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=403)
    registry.get(f"/v1/persons/{id_number}").respond(
        200, json=factories.registry_person("registered_poor", valid_from="2020-01-01")
    )
    request = _eligibility_request(id_number, insurer={"display": f"医保局 {id_number}"})
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    assert response.status_code == 200, response.text
    body = fhir_body(response, "CoverageEligibilityResponse")
    assert id_number not in response.text
    assert body["insurer"]["display"] == "医保局 " + id_number[:6] + "********" + id_number[-4:]


async def test_a_claim_naming_another_patient_than_the_visits_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    admitted = factories.resident_id(seq=21)
    other = factories.resident_id(seq=22)
    visit = await factories.make_admission(
        session, resident=admitted, person_key=app.state.id_hasher.key_of(admitted)
    )
    await session.commit()
    for use in ("predetermination", "claim"):
        for change in _naming_patient("patient", other):
            resource = claim(visit.visit_id, use=use) | change
            response = await post(client, hospital_headers, "Claim", resource)
            issue = outcome(response, 422, "visit_of_another_person")
            assert issue["expression"] == ["Claim.patient.identifier"]
            assert other not in response.text
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []

    own = claim(visit.visit_id) | {
        "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": admitted}}
    }
    settled = await post(client, hospital_headers, "Claim", own)
    assert settled.status_code == 201, settled.text


async def test_eligibility_over_a_period_is_refused_not_answered_for_today(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=403)
    registry.get(f"/v1/persons/{id_number}").respond(
        200, json=factories.registry_person("registered_poor")
    )
    request = _eligibility_request(
        id_number, servicedPeriod={"start": "2016-01-01", "end": "2017-12-31"}
    )
    del request["servicedDate"]
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    issue = outcome(response, 422, "fhir_unsupported_content")
    assert issue["expression"] == ["CoverageEligibilityRequest.servicedPeriod"]


async def test_eligibility_from_a_snapshot_older_than_the_policy_allows_is_partial(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """The registry down and the snapshot a year old where the policy allows 30 days: no
    coverage, no waiver, the reason in the disposition (ADR 0011, addendum)."""
    limit = factories.county_with_snapshot_limit("2026-03-01", 30)
    await factories.load_policy(client, admin_headers, limit)
    id_number = factories.resident_id(seq=431)
    listed = factories.roster_person(id_number, "minimum_living")
    await factories.seed_snapshot(app, listed, taken_at=datetime(2025, 3, 1, tzinfo=UTC))
    registry.get(f"/v1/persons/{id_number}").respond(503)
    request = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": id_number}},
        "servicedDate": "2026-03-10",
        "created": "2026-03-10T09:00:00+08:00",
        "insurer": {"display": "演示县医保局"},
    }
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    assert response.status_code == 200, response.text
    body = fhir_body(response, "CoverageEligibilityResponse")
    assert body["outcome"] == "partial"
    assert body.get("contained", []) == []
    assert body.get("insurance", []) == []
    assert body["disposition"] == "status or policy unknown: STATUS_UNKNOWN, SNAPSHOT_TOO_OLD"
    extensions = {e["url"]: e for e in body["extension"] if "valueCode" in e}
    assert extensions[systems.EXT_SOURCE]["valueCode"] == "unknown"
    warnings = [e["valueCoding"] for e in body["extension"] if "valueCoding" in e]
    [unknown] = [w for w in warnings if w["code"] == "STATUS_UNKNOWN"]
    assert "2025-03-01" in unknown["display"]


def _cancel(settlement_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": systems.FINANCIAL_TASK, "code": "cancel"}]},
        "focus": {"reference": f"ClaimResponse/{settlement_id}"},
        **extra,
    }


async def test_a_cancel_task_naming_another_visit_or_patient_cancels_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    """A Task's `encounter` and `for` were read by nothing: a Task for visit B and patient Y
    cancelled the ClaimResponse of visit A and patient X it focused on by a typo, where 2305
    refuses a setl_id that is not of its mdtrt_id, and a Claim a patient not the visit's."""
    admitted = factories.resident_id(seq=31)
    other = factories.resident_id(seq=32)
    visit = await factories.make_admission(
        session, resident=admitted, person_key=app.state.id_hasher.key_of(admitted)
    )
    await session.commit()
    made = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    settlement_id = fhir_body(made, "ClaimResponse")["id"]
    wrong_visit = {"encounter": {"identifier": {"system": systems.VISIT, "value": "V-OTHER"}}}
    issue = outcome(
        await post(client, hospital_headers, "Task", _cancel(settlement_id, **wrong_visit)),
        404,
        "settlement_not_found",
    )
    assert issue["expression"] == ["Task.encounter.identifier"]
    for wrong_patient in _naming_patient("for", other):
        response = await post(
            client, hospital_headers, "Task", _cancel(settlement_id, **wrong_patient)
        )
        issue = outcome(response, 422, "visit_of_another_person")
        assert issue["expression"] == ["Task.for.identifier"]
        assert other not in response.text
    stored = await client.get(f"/v1/settlements/{settlement_id}", headers=hospital_headers)
    assert stored.json()["reversal"] is None

    right = _cancel(
        settlement_id,
        encounter={"identifier": {"system": systems.VISIT, "value": visit.visit_id}},
        **{"for": {"identifier": {"system": systems.RESIDENT_ID, "value": admitted}}},
    )
    done = await post(client, hospital_headers, "Task", right)
    assert done.status_code == 201, done.text
    # The Claim resent after its cancel answers the settlement as it stands: cancelled.
    replay = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    assert replay.status_code == 200, replay.text
    assert fhir_body(replay, "ClaimResponse")["status"] == "cancelled"


async def test_a_cancel_task_of_another_hospitals_settlement_names_the_focus(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    """It was a 404 with no expression, where every other refusal names the element."""
    visit = await factories.make_admission(session)
    await session.commit()
    made = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    settlement_id = fhir_body(made, "ClaimResponse")["id"]
    response = await post(client, other_hospital_headers, "Task", _cancel(settlement_id))
    issue = outcome(response, 404, "settlement_not_found")
    assert issue["expression"] == ["Task.focus.reference"]
    stored = await client.get(f"/v1/settlements/{settlement_id}", headers=hospital_headers)
    assert stored.json()["reversal"] is None
    done = await post(client, hospital_headers, "Task", _cancel(settlement_id))
    assert done.status_code == 201, done.text
    again = await post(client, hospital_headers, "Task", _cancel(settlement_id, description="x"))
    issue = outcome(again, 409, "settlement_already_reversed")
    assert issue["expression"] == ["Task.focus.reference"]


async def test_a_cancel_task_that_asks_nothing_yet_cancels_nothing(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """Task.status and Task.intent were read by nothing: a `draft` Task, a `cancelled` one, a
    `proposal`, even a status no FHIR system knows, reversed the settlement and answered
    `completed`."""
    visit = await factories.make_admission(session)
    await session.commit()
    made = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    settlement_id = fhir_body(made, "ClaimResponse")["id"]
    for change, element in (
        ({"status": "draft"}, "Task.status"),
        ({"status": "cancelled"}, "Task.status"),
        ({"status": "bogus"}, "Task.status"),
        ({"intent": "proposal"}, "Task.intent"),
    ):
        response = await post(client, hospital_headers, "Task", _cancel(settlement_id) | change)
        issue = outcome(response, 422, "fhir_unsupported_content")
        assert issue["expression"] == [element], change
    stored = await client.get(f"/v1/settlements/{settlement_id}", headers=hospital_headers)
    assert stored.json()["reversal"] is None
    long_id = _cancel(settlement_id) | {"identifier": [{"value": "T" * 300}]}
    issue = outcome(
        await post(client, hospital_headers, "Task", long_id), 422, "fhir_invalid_resource"
    )
    assert issue["expression"] == ["Task.identifier[0].value"]  # not the service's his_reversal_id
    versioned = _cancel(settlement_id) | {
        "focus": {"reference": f"ClaimResponse/{settlement_id}/_history/1"}
    }
    issue = outcome(
        await post(client, hospital_headers, "Task", versioned), 404, "settlement_not_found"
    )
    assert issue["expression"] == ["Task.focus.reference"]
    assert (await post(client, hospital_headers, "Task", _cancel(settlement_id))).status_code == 201


async def test_a_cancel_task_answer_never_repeats_a_resident_id_number(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    """The completed Task echoed the Task sent, `for.identifier` with the full resident ID
    number too (and a description holding one), where every other answer carries the masked
    number (ADR 0015; the eligibility answer masks what it echoes)."""
    admitted = factories.resident_id(seq=33)
    visit = await factories.make_admission(
        session, resident=admitted, person_key=app.state.id_hasher.key_of(admitted)
    )
    await session.commit()
    made = await post(client, hospital_headers, "Claim", claim(visit.visit_id))
    settlement_id = fhir_body(made, "ClaimResponse")["id"]
    task = _cancel(
        settlement_id,
        description=f"病人 {admitted} 收费错误",
        **{"for": {"identifier": {"system": systems.RESIDENT_ID, "value": admitted}}},
    )
    done = await post(client, hospital_headers, "Task", task)
    assert done.status_code == 201, done.text
    assert admitted not in done.text
    body = fhir_body(done, "Task")
    assert body["for"]["identifier"]["value"] == admitted[:6] + "********" + admitted[-4:]
    again = await post(client, hospital_headers, "Task", task)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert admitted not in again.text
