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


def _in_policy_lines(visit_id: str, *amounts: str) -> dict[str, Any]:
    """The 20,500 yuan bill with its in-policy part split over several items."""
    resource = claim(visit_id)
    first = resource["item"][0]
    resource["item"] = [
        {**first, "sequence": n, "net": {"value": Decimal(amount), "currency": "CNY"}}
        for n, amount in enumerate(amounts, start=1)
    ] + [{**resource["item"][1], "sequence": len(amounts) + 1}]
    return resource


@pytest.mark.parametrize(
    ("amounts", "at_fault"),
    [(("10000.005", "9999.995"), 0), (("20500.00", "-500.00"), 1)],
    ids=["three-decimals-summing-to-two", "negative-offset-by-another"],
)
async def test_an_item_the_json_api_would_refuse_is_refused_though_the_parts_add_up(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
    amounts: tuple[str, ...],
    at_fault: int,
) -> None:
    """Each item's net is an amount as the JSON API reads one (two decimals, not negative): a
    line of 1.005 or -500.00 is not settled because another line makes the sum look right."""
    visit = await factories.make_admission(session)
    by_json = await client.post(
        "/v1/settlements/preview",
        json={
            "visit_id": visit.visit_id,
            "discharged_at": "2024-03-10T10:00:00+08:00",
            "bill": {
                "total": amounts[at_fault],
                "in_policy": amounts[at_fault],
                "out_of_policy": "0.00",
            },
        },
        headers=hospital_headers,
    )
    assert by_json.status_code == 422, by_json.text
    response = await post(
        client, hospital_headers, "Claim", _in_policy_lines(visit.visit_id, *amounts)
    )
    assert response.status_code == 422, response.text
    issue = fhir_body(response, "OperationOutcome")["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "fhir_invalid_resource"
    assert issue["expression"] == [f"Claim.item[{at_fault}].net.value"]
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []
