"""After a hospital marks a defaulter, its admission answer says so, and the policy's
`deposit_from_defaulters` decides whether a deposit may then be taken."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tests import factories
from tests.factories import receivable_of, settle
from tests.factories import settlement_request as body


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="http://registry.test", assert_all_called=False) as router:
        yield router


async def _admit(
    client: httpx.AsyncClient, headers: dict[str, str], visit_id: str
) -> dict[str, Any]:
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(
            id_number=factories.resident_id(seq=77), visit_id=visit_id
        ),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_the_admission_answer_says_defaulter_and_allows_a_deposit_per_policy(
    client: httpx.AsyncClient, registry: respx.MockRouter, hospital_headers: dict[str, str]
) -> None:
    registry.get(f"/v1/persons/{factories.resident_id(seq=77)}").respond(
        200, json=factories.registry_person()
    )
    first = await _admit(client, hospital_headers, "V-D1")
    assert first["deposit_allowed"] == "0.00"
    settlement = await settle(
        client, hospital_headers, body("V-D1", discharged_at="2026-03-20T10:00:00+08:00")
    )
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    marked = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": "拒不支付"},
        headers=hospital_headers,
    )
    assert marked.status_code == 201, marked.text
    again = await _admit(client, hospital_headers, "V-D2")
    assert "DEFAULTER_MARKED" in [w["code"] for w in again["warnings"]]
    assert "DEFAULTER_MARKED" in again["pay_after_treatment"]["reasons"]
    assert again["deposit_allowed"] is None  # the demo policy: deposit_from_defaulters: true
    # a retry of the marked patient's admission (on PostgreSQL the statement that reads the
    # mark writes nothing, the second judges again and meets the first) replays the answer
    retried = await client.post(
        "/v1/admissions",
        json=factories.admission_request(id_number=factories.resident_id(seq=77), visit_id="V-D2"),
        headers=hospital_headers,
    )
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == again
    lifted = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter/removal",
        json={"reason": "已结清"},
        headers=hospital_headers,
    )
    assert lifted.status_code == 201
    third = await _admit(client, hospital_headers, "V-D3")
    assert third["deposit_allowed"] == "0.00"
    assert "DEFAULTER_MARKED" not in [w["code"] for w in third["warnings"]]


async def test_reversing_the_settlement_a_mark_rests_on_lifts_the_mark(
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    registry.get(f"/v1/persons/{factories.resident_id(seq=77)}").respond(
        200, json=factories.registry_person()
    )
    await _admit(client, hospital_headers, "V-R1")
    settlement = await settle(
        client, hospital_headers, body("V-R1", discharged_at="2026-03-20T10:00:00+08:00")
    )
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    url = f"/v1/receivables/{receivable['id']}/defaulter"
    marked = await client.post(url, json={"reason": "拒不支付"}, headers=hospital_headers)
    assert marked.status_code == 201, marked.text

    reversed_ = await client.post(
        f"/v1/settlements/{settlement['id']}/reversal",
        json={"reason": "结算有误"},
        headers=hospital_headers,
    )

    assert reversed_.status_code == 201, reversed_.text
    after = await receivable_of(client, hospital_headers, settlement["id"])
    assert (after["status"], after["defaulter"]) == ("cancelled", False)
    history = (await client.get("/v1/receivables/defaulters", headers=auditor_headers)).json()
    assert [(m["action"], m["actor"]) for m in history] == [
        ("unmark", "settlement reversal"),
        ("mark", history[1]["actor"]),
    ]
    admitted = await _admit(client, hospital_headers, "V-R2")
    assert admitted["deposit_allowed"] == "0.00"
    assert "DEFAULTER_MARKED" not in [w["code"] for w in admitted["warnings"]]
    again = await client.post(url, json={"reason": "again"}, headers=hospital_headers)
    assert (again.status_code, again.json()["code"]) == (409, "receivable_cancelled")
