"""The chronic-outpatient ratio counts the visits the service really records: a covered patient's
chronic outpatient visit is not pay-after-treatment eligible (the policy lists inpatients only),
yet it is what the 80% target is about."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from tests import factories

PATIENT = factories.resident_id(seq=321)


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="http://registry.test", assert_all_called=True) as router:
        person = factories.registry_person(chronic_card_until="2030-12-31")
        router.get(f"/v1/persons/{PATIENT}").respond(200, json=person)
        yield router


async def test_a_chronic_outpatient_visit_admitted_and_settled_counts(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    admission = factories.admission_request(
        visit_id="CH-1", id_number=PATIENT, visit_type="chronic_outpatient"
    )
    admitted = await client.post("/v1/admissions", json=admission, headers=hospital_headers)
    assert admitted.status_code == 201, admitted.text
    assert admitted.json()["covered"] is True
    assert admitted.json()["pay_after_treatment"]["eligible"] is False  # inpatients only
    settlement = {
        "visit_id": "CH-1",
        "his_settlement_id": "S-CH-1",
        "discharged_at": "2026-03-10T10:00:00+08:00",
        "bill": {"total": "1000.00", "in_policy": "1000.00", "out_of_policy": "0.00"},
    }
    settled = await client.post("/v1/settlements", json=settlement, headers=hospital_headers)
    assert settled.status_code == 201, settled.text
    funds = settled.json()["fund_pay_sumamt"]
    indicators = await client.get(
        "/v1/indicators",
        params={"region": "990102", "from": "2026-03-01", "to": "2026-03-31"},
        headers=auditor_headers,
    )
    assert indicators.status_code == 200, indicators.text
    chronic = indicators.json()["actual_ratio_chronic_outpatient"]
    assert chronic["denominator"] == 1000_00
    assert chronic["numerator"] == int(funds.replace(".", ""))
    assert chronic["value"] is not None
