"""A visit id may hold '/' (ZY/2026/000123: many HIS number stays so), and every route that
names a visit in its path reaches it: read, deposit and reversal, with the slash sent as is or
percent-encoded. Before, the admission was stored and then unreachable: its deposit could not be
reported, so a deposit taken from an eligible patient was never booked."""

from __future__ import annotations

import httpx
import pytest
import respx

from tests import factories
from tests.factories import person_route

VISIT = "ZY/2026/000123"
DEPOSIT = {"receipt_no": "R/1", "amount": "500.00", "taken_at": "2026-03-10T09:00:00+08:00"}


@pytest.mark.parametrize("spelt", [VISIT, VISIT.replace("/", "%2F")])
async def test_a_visit_id_with_slashes_is_read_charged_and_reversed_through_its_path(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    spelt: str,
) -> None:
    id_number = factories.resident_id(seq=31)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    admitted = await client.post(
        "/v1/admissions",
        json=factories.admission_request(visit_id=VISIT, id_number=id_number),
        headers=hospital_headers,
    )
    assert admitted.status_code == 201, admitted.text

    read = await client.get(f"/v1/admissions/{spelt}", headers=hospital_headers)
    deposit = await client.post(
        f"/v1/admissions/{spelt}/deposits", json=DEPOSIT, headers=hospital_headers
    )
    reversed_ = await client.post(
        f"/v1/admissions/{spelt}/reversal",
        json={"reason": "registered twice"},
        headers=hospital_headers,
    )

    assert read.status_code == 200, read.text
    assert read.json()["visit_id"] == VISIT
    assert deposit.status_code == 201, deposit.text
    assert deposit.json()["violation"]["rule_code"] == "DEPOSIT_CHARGED"
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["state"] == "reversed"


async def test_a_path_below_a_visit_that_names_no_operation_is_not_a_visit(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    answer = await client.post(
        "/v1/admissions/ZY/1/refunds", json=DEPOSIT, headers=hospital_headers
    )

    # The path reads as the visit "ZY/1/refunds", which only GET serves.
    assert answer.status_code == 405, answer.text
    assert answer.json()["code"] == "method_not_allowed"
