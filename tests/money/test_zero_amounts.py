"""An amount of 0.00 where it records nothing is refused, naming the field: a deposit, a patient's
payment, an instalment (a fund's payment: tests/clearing/test_payments.py). Where a zero says
something (no deposit intended, a bill line or a part of the bill with nothing in it, a layer
settled elsewhere that paid nothing) it is kept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.admissions.models import Admission, AdmissionDeposit
from tests import factories as f


def _field_code(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["errors"][0]["field"]


@pytest.mark.parametrize("amount", ["0", "0.00", 0])
async def test_a_deposit_of_nothing_is_refused_and_records_nothing(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], amount: Any
) -> None:
    async with app.state.sessionmaker() as s:
        visit = (await f.make_admission(s)).visit_id
    url = f"/v1/admissions/{visit}/deposits"
    deposit = {"receipt_no": "R-0", "amount": amount, "taken_at": "2024-03-01T09:00:00+08:00"}
    refused = await client.post(url, json=deposit, headers=hospital_headers)
    assert _field_code(refused) == (422, "invalid_deposit", "amount")
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(AdmissionDeposit))).all() == []
        stored = (await s.exec(select(Admission).where(Admission.visit_id == visit))).one()
        assert stored.deposit_taken_fen == 0
    taken = await client.post(url, json=deposit | {"amount": "0.01"}, headers=hospital_headers)
    assert taken.status_code == 201, taken.text


async def test_a_patient_payment_or_instalment_of_nothing_is_refused(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    _, receivable = await f.open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}"
    paid = await client.post(
        f"{url}/payments", json=f.receivable_payment("0.00"), headers=hospital_headers
    )
    assert _field_code(paid) == (422, "invalid_payment", "amount")
    parts = [
        {"due_on": "2024-04-10", "amount": receivable["amount_due"]},
        {"due_on": "2024-05-10", "amount": "0"},
    ]
    with f.clock_at(f.AT_DISCHARGE):
        scheduled = await client.post(
            f"{url}/instalments", json={"instalments": parts}, headers=hospital_headers
        )
    assert _field_code(scheduled) == (422, "invalid_schedule", "instalments.1.amount")


async def test_a_zero_that_says_something_is_kept(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = (await f.make_admission(s)).visit_id
    line = {"item": "drug", "amount": "0.00", "in_policy": False}
    body = f.settlement_request(
        visit,
        bill=f.bill(
            "100.00", lines=[{"item": "drug", "amount": "100.00", "in_policy": True}, line]
        ),
    )
    settled = await client.post("/v1/settlements", json=body, headers=hospital_headers)
    assert settled.status_code == 201, settled.text
