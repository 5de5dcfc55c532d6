"""Who may be admitted without a deposit, and why not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tests import factories
from tests.factories import person_route

PAY_AFTER_TREATMENT = [
    "registered_poor",
    "lifted_out",
    "minimum_living",
    "destitute",
    "monitored_unstable",
    "monitored_edge",
    "monitored_sudden",
]


async def _admit(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: object
) -> httpx.Response:
    return await client.post(
        "/v1/admissions", json=factories.admission_request(**overrides), headers=headers
    )


@pytest.mark.parametrize("category", PAY_AFTER_TREATMENT)
async def test_each_covered_category_is_admitted_without_deposit(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    category: str,
) -> None:
    id_number = factories.resident_id(seq=101)
    person_route(registry, id_number).respond(200, json=factories.registry_person(category))
    response = await _admit(client, hospital_headers, id_number=id_number, deposit_intended="500")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["pay_after_treatment"] == {
        "eligible": True,
        "reasons": [f"ELIGIBLE_CATEGORY:{category}"],
    }
    assert body["covered"] is True
    assert [c["code"] for c in body["categories"]] == [category]
    assert body["deposit_allowed"] == "0.00"
    assert body["source"]["kind"] == "registry"
    assert body["policy"]["region_code"] == "990102"
    assert "DEPOSIT_NOT_ALLOWED" in [w["code"] for w in body["warnings"]]
    assert id_number not in response.text
    assert body["person_masked"] == id_number[:6] + "********" + id_number[-4:]


@pytest.mark.parametrize("category", ["low_income_edge", "medical_aid_recipient"])
async def test_categories_outside_pay_after_treatment_may_be_asked_a_deposit(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    category: str,
) -> None:
    id_number = factories.resident_id(seq=102)
    person_route(registry, id_number).respond(200, json=factories.registry_person(category))
    body = (await _admit(client, hospital_headers, id_number=id_number)).json()
    assert body["registered"] is True
    assert [c["code"] for c in body["categories"]] == [category]
    assert body["pay_after_treatment"]["eligible"] is False
    assert body["pay_after_treatment"]["reasons"] == ["CATEGORY_NOT_COVERED"]
    assert body["deposit_allowed"] is None


async def test_not_registered_is_a_real_not_eligible(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=103)
    person_route(registry, id_number).respond(404, json={"code": "not_registered"})
    body = (await _admit(client, hospital_headers, id_number=id_number)).json()
    assert body["registered"] is False
    assert body["covered"] is False
    assert body["pay_after_treatment"] == {"eligible": False, "reasons": ["CATEGORY_NOT_COVERED"]}
    assert body["source"]["kind"] == "registry"
    assert body["violations"] == []


async def test_a_category_that_ended_before_admission_does_not_count(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=104)
    person_route(registry, id_number).respond(
        200, json=factories.registry_person("registered_poor", valid_to="2020-12-31")
    )
    body = (await _admit(client, hospital_headers, id_number=id_number)).json()
    assert body["categories"] == []
    assert body["pay_after_treatment"]["reasons"] == ["CATEGORY_NOT_COVERED"]


async def test_out_of_county_without_referral_is_not_eligible(
    client: httpx.AsyncClient, other_hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=105)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    body = (await _admit(client, other_hospital_headers, id_number=id_number)).json()
    assert body["location"] == "out_of_county"
    assert body["pay_after_treatment"]["eligible"] is False
    assert body["pay_after_treatment"]["reasons"][:2] == ["OUT_OF_COUNTY", "NO_REFERRAL"]
    assert [v["rule_code"] for v in body["violations"]] == ["IMPROPER_REFERRAL"]


async def test_out_of_county_with_referral_is_still_outside_the_county_rule(
    client: httpx.AsyncClient, other_hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=106)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    body = (
        await _admit(
            client,
            other_hospital_headers,
            id_number=id_number,
            referral={"referred": True, "referral_no": "R-1"},
        )
    ).json()
    assert body["pay_after_treatment"]["reasons"][0] == "OUT_OF_COUNTY"
    assert "NO_REFERRAL" not in body["pay_after_treatment"]["reasons"]
    assert body["violations"] == []


async def test_undesignated_hospital_is_not_eligible(
    client: httpx.AsyncClient, make_key: Any, registry: respx.MockRouter
) -> None:
    headers = await make_key("hospital", hospital_code=factories.UNDESIGNATED_HOSPITAL)
    id_number = factories.resident_id(seq=107)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    body = (await _admit(client, headers, id_number=id_number)).json()
    assert body["pay_after_treatment"]["eligible"] is False
    assert body["pay_after_treatment"]["reasons"][0] == "NOT_DESIGNATED"


async def test_chronic_outpatient_is_not_a_pay_after_treatment_visit(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=108)
    person_route(registry, id_number).respond(
        200, json=factories.registry_person(chronic_card_until="2030-01-01")
    )
    body = (
        await _admit(client, hospital_headers, id_number=id_number, visit_type="chronic_outpatient")
    ).json()
    assert body["pay_after_treatment"]["reasons"][0] == "VISIT_TYPE_NOT_COVERED"
    assert body["violations"] == []


def _pooling_region_policy(pooling: str) -> str:
    return f"""
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 市域内先诊疗后付费
version: "pooling-{pooling}"
effective_from: 2026-01-01
sources: ["test: pay-after-treatment in the pooling region (统筹区内)"]
pooling: {pooling}
controls:
  pay_after_treatment:
    within: pooling_region
    referral_required_outside_county: false
"""


@pytest.mark.parametrize(
    ("pooling", "eligible", "reasons"),
    [
        ("prefecture", True, ["ELIGIBLE_CATEGORY:registered_poor"]),
        ("county", False, ["OUT_OF_POOLING_REGION", "ELIGIBLE_CATEGORY:registered_poor"]),
    ],
)
async def test_a_county_that_extends_pay_after_treatment_to_its_pooling_region(
    client: httpx.AsyncClient,
    make_key: factories.KeyFactory,
    other_hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    pooling: str,
    eligible: bool,
    reasons: list[str],
) -> None:
    # The neighbouring county's hospital lies in the same prefecture: inside a prefecture pool
    # (市级统筹), outside a county pool. The admission works it out from the policy's `pooling`.
    admin = await make_key("admin")
    loaded = await client.post(
        "/v1/policies",
        json={"source_text": _pooling_region_policy(pooling), "reason": "市域内先诊疗后付费"},
        headers=admin,
    )
    assert loaded.status_code == 201, loaded.text
    id_number = factories.resident_id(seq=107)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    body = (
        await _admit(client, other_hospital_headers, id_number=id_number, deposit_intended="500")
    ).json()
    assert body["location"] == "out_of_county"
    assert body["policy"]["version"] == f"pooling-{pooling}"
    assert body["pay_after_treatment"] == {"eligible": eligible, "reasons": reasons}
    assert body["deposit_allowed"] == ("0.00" if eligible else None)
    warned = [w["code"] for w in body["warnings"]]
    assert ("DEPOSIT_NOT_ALLOWED" in warned) is eligible
    # the quick status check at the same desk says the same
    status = await client.get(
        f"/v1/persons/{id_number}/status",
        params={"on": "2026-03-10"},
        headers=other_hospital_headers,
    )
    assert status.status_code == 200, status.text
    assert status.json()["pay_after_treatment"] == {"eligible": eligible, "reasons": reasons}
