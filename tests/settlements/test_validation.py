"""Bad bills and bodies get 422s naming the field; unknown visits a 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests import factories
from tests.factories import at, bill, settlement_request


@pytest.fixture
async def visit_id(app: FastAPI) -> str:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    return str(row.visit_id)


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], payload: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/settlements", json=payload, headers=headers)


@pytest.mark.parametrize(
    ("bill_", "field", "code"),
    [
        (bill("-1.00"), "bill.in_policy", "greater_than_equal"),
        (
            {"total": "100.00", "in_policy": "90.00", "out_of_policy": "5.00"},
            "bill.total",
            "invalid_bill",
        ),
        (bill("100.001"), "bill.in_policy", "decimal_max_places"),
        (
            {"total": 100.005, "in_policy": 100, "out_of_policy": 0},
            "bill.total",
            "decimal_max_places",
        ),
        (
            bill("100.00", "10.00", out_of_policy_breakdown={"full_self_pay": "4.00"}),
            "bill.out_of_policy_breakdown",
            "invalid_bill",
        ),
        (
            bill("100.00", lines=[{"item": "drug", "amount": "90.00", "in_policy": True}]),
            "bill.lines",
            "invalid_bill",
        ),
        (bill("NaN"), "bill.in_policy", "amount_not_plain"),
    ],
)
async def test_a_bad_bill_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    visit_id: str,
    bill_: dict[str, Any],
    field: str,
    code: str,
) -> None:
    response = await _post(client, hospital_headers, settlement_request(visit_id, bill=bill_))
    assert response.status_code == 422, response.text
    errors = [(e["field"], e["code"]) for e in response.json()["errors"]]
    assert (field, code) in errors


async def test_discharge_before_admission_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    payload = settlement_request(visit_id, discharged_at="2024-02-01T10:00:00+08:00")
    response = await _post(client, hospital_headers, payload)
    assert response.status_code == 422
    assert response.json()["code"] == "discharge_before_admission"
    assert response.json()["errors"][0]["field"] == "discharged_at"


async def test_discharge_before_admission_shows_both_instants_in_china_time(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    # Sent in UTC; the admission (2024-03-01 08:00 China) is stored in UTC: both read alike.
    payload = settlement_request(visit_id, discharged_at="2024-02-01T02:00:00Z")
    response = await _post(client, hospital_headers, payload)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        "discharged_at 2024-02-01T10:00:00+08:00 is before the admission at "
        "2024-03-01T08:00:00+08:00"
    )


async def test_a_naive_discharge_time_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    response = await _post(
        client, hospital_headers, settlement_request(visit_id, discharged_at="2024-03-10T10:00:00")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "discharged_at"


@pytest.mark.parametrize(
    "extra",
    [
        {"id": 1},
        {"status": "settled"},
        {"hospital_code": factories.NEIGHBOUR_HOSPITAL},
        {"patient_pays": "0.00"},
        {"hifp_pay": "100.00"},
    ],
)
async def test_a_body_cannot_set_what_the_server_decides(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    visit_id: str,
    extra: dict[str, Any],
) -> None:
    response = await _post(client, hospital_headers, {**settlement_request(visit_id), **extra})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "extra_forbidden"


async def test_an_unknown_visit_is_not_found(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    response = await _post(client, hospital_headers, settlement_request("NO-SUCH-VISIT"))
    assert response.status_code == 404
    assert response.json()["code"] == "visit_not_found"


async def test_a_reversed_admission_cannot_be_settled(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s, state="reversed")
    response = await _post(client, hospital_headers, settlement_request(row.visit_id))
    assert response.status_code == 409
    assert response.json()["code"] == "visit_not_admitted"


async def test_an_external_layer_needs_its_amount(
    app: FastAPI, client: httpx.AsyncClient, make_key: Any
) -> None:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(
            s, hospital_code=factories.CITY_HOSPITAL, insured_county="990201", categories=[]
        )
    headers = await make_key("hospital", hospital_code=factories.CITY_HOSPITAL)
    payload = settlement_request(row.visit_id)
    missing = await _post(client, headers, payload)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "external_amounts.basic_insurance"
    unknown = await _post(
        client, headers, {**payload, "external_amounts": {"basic_insurance": 0, "nope": 1}}
    )
    assert unknown.json()["errors"][0]["field"] == "external_amounts.nope"
    too_much = await _post(
        client, headers, {**payload, "external_amounts": {"basic_insurance": "99999.00"}}
    )
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "invalid_external_amounts"


async def test_no_policy_in_force_is_a_clear_422(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s, admitted_at=at(2019, 5, 1))
    response = await _post(
        client,
        hospital_headers,
        settlement_request(row.visit_id, discharged_at="2019-06-01T10:00:00+08:00"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "no_policy_in_force"


async def test_a_field_has_one_name_whichever_check_refuses_it(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    """ADR 0032: FastAPI's check (not an aware time) and the service's (before the admission)
    name the same input the same way, as the HIS wrote it."""
    naive = settlement_request(visit_id, discharged_at="2024-03-10T10:00:00")
    early = settlement_request(visit_id, discharged_at="2024-02-01T10:00:00+08:00")
    named = set()
    for payload in (naive, early):
        response = await _post(client, hospital_headers, payload)
        assert response.status_code == 422, response.text
        named |= {e["field"] for e in response.json()["errors"]}
    assert named == {"discharged_at"}
