"""A fund's payments of closed statements: partial, idempotent by reference, never more."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests import factories
from tests.factories import KeyFactory, Ledger, at

BASIC = "F99-BASIC"


async def _closed(app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    ledger = Ledger(app)
    await ledger.settle(at(2026, 3, 5), basic=1000_00)
    response = await client.post(
        "/v1/clearing/statements",
        json={
            "fund_code": BASIC,
            "hospital_code": factories.COUNTY_HOSPITAL,
            "period": "2026-03",
        },  # fmt: skip
        headers=headers,
    )
    assert response.status_code == 201, response.text
    statement_id: int = response.json()["id"]
    return statement_id


def _pay(amount: str, reference: str) -> dict[str, str]:
    return {"amount": amount, "paid_on": "2026-04-15", "reference": reference}


async def test_payments_show_paid_and_outstanding_and_never_exceed_what_is_owed(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    statement_id = await _closed(app, client, fund)
    url = f"/v1/clearing/statements/{statement_id}/payments"
    first = await client.post(url, json=_pay("600.00", "BANK-1"), headers=fund)
    assert first.status_code == 201, first.text
    replay = await client.post(url, json=_pay("600.00", "BANK-1"), headers=fund)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    reused = await client.post(url, json=_pay("1.00", "BANK-1"), headers=fund)
    assert (reused.status_code, reused.json()["code"]) == (409, "payment_reference_conflict")
    over = await client.post(url, json=_pay("400.01", "BANK-2"), headers=fund)
    assert (over.status_code, over.json()["code"]) == (409, "overpayment")
    zero = await client.post(url, json=_pay("0", "BANK-0"), headers=fund)
    assert (zero.status_code, zero.json()["code"]) == (422, "invalid_amount")
    rest = await client.post(url, json=_pay("400.00", "BANK-2"), headers=fund)
    assert rest.status_code == 201
    twice = await client.post(url, json=_pay("1.00", "BANK-3"), headers=fund)
    assert (twice.status_code, twice.json()["code"]) == (409, "statement_paid")
    shown = (await client.get(f"/v1/clearing/statements/{statement_id}", headers=fund)).json()
    assert (shown["paid"], shown["outstanding"]) == ("1000.00", "0.00")
    assert [p["reference"] for p in shown["payments"]] == ["BANK-1", "BANK-2"]


async def test_only_the_statements_fund_may_pay_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    auditor_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    statement_id = await _closed(app, client, auditor_headers)
    url = f"/v1/clearing/statements/{statement_id}/payments"
    other_fund = await make_key("fund", region_prefix="99", fund_code="F99-AID")
    response = await client.post(url, json=_pay("1.00", "X"), headers=other_fund)
    assert (response.status_code, response.json()["code"]) == (404, "statement_not_found")
    for headers in (auditor_headers, hospital_headers):
        assert (await client.post(url, json=_pay("1.00", "X"), headers=headers)).status_code == 403
    seen = await client.get(f"/v1/clearing/statements/{statement_id}", headers=hospital_headers)
    assert seen.status_code == 200
    assert seen.json()["outstanding"] == "1000.00"


async def test_a_payment_dated_before_the_statements_month_is_over_is_refused(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    statement_id = await _closed(app, client, fund)  # March 2026
    url = f"/v1/clearing/statements/{statement_id}/payments"
    for early in ("2020-01-01", "2026-03-31"):
        response = await client.post(
            url, json={**_pay("100.00", "BANK-1"), "paid_on": early}, headers=fund
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert (problem["code"], problem["errors"][0]["field"]) == ("implausible_date", "paid_on")
    first_day = await client.post(
        url, json={**_pay("100.00", "BANK-1"), "paid_on": "2026-04-01"}, headers=fund
    )
    assert first_day.status_code == 201, first_day.text
    shown = (await client.get(f"/v1/clearing/statements/{statement_id}", headers=fund)).json()
    assert [(p["reference"], p["paid_on"]) for p in shown["payments"]] == [("BANK-1", "2026-04-01")]


@pytest.mark.parametrize("paid_on", ["2999-12-31", "1900-01-01"])
async def test_a_payment_dated_where_none_can_be_is_refused_naming_paid_on(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory, paid_on: str
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    statement_id = await _closed(app, client, fund)
    url = f"/v1/clearing/statements/{statement_id}/payments"
    body = {**_pay("100.00", "BANK-1"), "paid_on": paid_on}
    refused = await client.post(url, json=body, headers=fund)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "implausible_date",
        "paid_on",
    )
    shown = (await client.get(f"/v1/clearing/statements/{statement_id}", headers=fund)).json()
    assert (shown["paid"], shown["payments"]) == ("0.00", [])


async def test_a_payment_reference_holding_an_id_number_is_refused(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code=BASIC)
    statement_id = await _closed(app, client, fund)
    id_number = factories.resident_id(region="110105", seq=123)
    url = f"/v1/clearing/statements/{statement_id}/payments"
    refused = await client.post(url, json=_pay("100.00", id_number), headers=fund)
    assert refused.status_code == 422, refused.text
    assert id_number not in refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["reference"]
    assert refused.json()["errors"][0]["code"] == "resident_id_in_text"
