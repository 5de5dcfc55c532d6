"""A resource that names another hospital than the key's is refused (403
`fhir_wrong_institution`, as NHSA refuses another `fixmedins_code`), before anything is read,
settled or reversed: a HIS configured with the wrong code must not settle under the key's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.fhir import systems
from tests import factories
from tests.fhir.conftest import claim, fhir_body, outcome, post

OTHER = factories.TOWNSHIP_HOSPITAL  # H990102001: same county, another hospital


def _naming(hospital: str, system: str | None = systems.HOSPITAL) -> dict[str, Any]:
    identifier = {"value": hospital} | ({"system": system} if system else {})
    return {"identifier": identifier}


@pytest.mark.parametrize("use", ["claim", "predetermination"])
async def test_a_claim_from_another_provider_is_refused_and_not_settled(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, use: str
) -> None:
    visit = await factories.make_admission(session)
    await session.commit()
    resource = claim(visit.visit_id, use=use) | {"provider": _naming(OTHER)}
    issue = outcome(
        await post(client, hospital_headers, "Claim", resource), 403, "fhir_wrong_institution"
    )
    assert issue["code"] == "forbidden"
    assert issue["expression"] == ["Claim.provider.identifier.value"]
    assert OTHER in issue["diagnostics"]
    assert factories.COUNTY_HOSPITAL in issue["diagnostics"]
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_a_provider_without_a_system_is_read_as_a_hospital_code(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    await session.commit()
    resource = claim(visit.visit_id) | {"provider": _naming(OTHER, system=None)}
    response = await post(client, hospital_headers, "Claim", resource)
    issue = outcome(response, 403, "fhir_wrong_institution")
    assert response.status_code == 403
    assert issue["expression"] == ["Claim.provider.identifier.value"]
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_a_claim_naming_its_own_hospital_or_another_system_settles(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """Only our hospital system (or none) is compared: another system's code is not ours to
    read, and a display or an Organization reference resolves to nothing here."""
    first = await factories.make_admission(session, visit_id="V-OWN")
    second = await factories.make_admission(session, visit_id="V-ELSE")
    await session.commit()
    own = claim(first.visit_id, identifier="S-OWN")
    response = await post(client, hospital_headers, "Claim", own)
    assert response.status_code == 201, response.text
    elsewhere = claim(second.visit_id, identifier="S-ELSE") | {
        "provider": _naming("12345", system="urn:oid:1.2.156.112606"),
    }
    response = await post(client, hospital_headers, "Claim", elsewhere)
    assert response.status_code == 201, response.text


async def test_an_eligibility_request_from_another_provider_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=411)
    route = registry.get(f"/v1/persons/{id_number}").respond(200, json=factories.registry_person())
    request = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": id_number}},
        "created": "2024-03-10T09:00:00+08:00",
        "insurer": {"display": "演示县医保局"},
        "provider": _naming(OTHER),
    }
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    issue = outcome(response, 403, "fhir_wrong_institution")
    assert issue["expression"] == ["CoverageEligibilityRequest.provider.identifier.value"]
    assert route.call_count == 0  # refused before the registry is asked
    own = request | {"provider": _naming(factories.COUNTY_HOSPITAL)}
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", own)
    assert response.status_code == 200, response.text


async def test_a_cancel_task_requested_by_another_hospital_is_refused(
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
        "focus": {"reference": f"ClaimResponse/{settlement_id}"},
        "requester": _naming(OTHER),
    }
    issue = outcome(
        await post(client, hospital_headers, "Task", task), 403, "fhir_wrong_institution"
    )
    assert issue["expression"] == ["Task.requester.identifier.value"]
    owned = task | {"requester": _naming(factories.COUNTY_HOSPITAL), "owner": _naming(OTHER)}
    issue = outcome(
        await post(client, hospital_headers, "Task", owned), 403, "fhir_wrong_institution"
    )
    assert issue["expression"] == ["Task.owner.identifier.value"]
    stored = await client.get(f"/v1/settlements/{settlement_id}", headers=hospital_headers)
    assert stored.json()["reversal"] is None
