"""Hostile values inside valid-looking FHIR resources: a clear OperationOutcome, never a 5xx."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.fhir.conftest import claim, fhir_body, post


def _with(visit_id: str, change: str) -> dict[str, Any]:
    resource = claim(visit_id)
    item = resource["item"][0]
    if change == "negative":
        item["net"]["value"] = Decimal("-1.00")
    elif change == "three-decimals":
        item["net"]["value"] = Decimal("1.005")
    elif change == "huge":
        item["net"]["value"] = Decimal("1e30")
    elif change == "dollars":
        item["net"]["currency"] = "USD"
    elif change == "nul-visit":
        item["encounter"][0]["identifier"]["value"] = "V\x00"
    elif change == "long-visit":
        item["encounter"][0]["identifier"]["value"] = "V" * 5000
    elif change == "long-key":
        resource["identifier"][0]["value"] = "K" * 5000
    elif change == "no-items":
        del resource["item"]
    elif change == "unknown-part":
        item["productOrService"]["coding"][0]["code"] = "drugs"
    elif change == "date-only":
        resource["billablePeriod"]["end"] = "2024-13-40"
    elif change == "preauth":
        resource["use"] = "preauthorization"
    return resource


@pytest.mark.parametrize(
    "change",
    [
        "negative",
        "three-decimals",
        "huge",
        "dollars",
        "nul-visit",
        "long-visit",
        "long-key",
        "no-items",
        "unknown-part",
        "date-only",
        "preauth",
    ],
)
async def test_a_hostile_claim_is_an_operation_outcome(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
    change: str,
) -> None:
    visit = await factories.make_admission(session)
    response = await post(client, hospital_headers, "Claim", _with(visit.visit_id, change))
    assert 400 <= response.status_code < 500, response.text
    issue = fhir_body(response, "OperationOutcome")["issue"][0]
    assert issue["severity"] == "error"
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


@pytest.mark.parametrize(
    "focus",
    [
        "ClaimResponse/0",
        "ClaimResponse/99999999999999999999",
        "ClaimResponse/²",
        "Patient/1",
        "x",
        "",
    ],
)
async def test_a_cancel_task_with_a_bad_focus_is_an_operation_outcome(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], focus: str
) -> None:
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/financialtaskcode", "code": "cancel"}]},
        "focus": {"reference": focus} if focus else {"display": "nothing"},
    }
    response = await post(client, hospital_headers, "Task", task)
    assert response.status_code in (404, 422), response.text
    fhir_body(response, "OperationOutcome")


@pytest.mark.parametrize("ident", ["²", "⁵", "0", "99999999999999999999"])
async def test_reading_a_claim_response_that_no_id_can_name_is_an_operation_outcome(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], ident: str
) -> None:
    response = await client.get(f"/fhir/ClaimResponse/{ident}", headers=hospital_headers)
    assert response.status_code == 404, response.text
    fhir_body(response, "OperationOutcome")
