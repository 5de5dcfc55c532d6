"""Resident ID numbers typed into the receivables' and clearing's free text (ADR 0012): refused
in identifiers (HIS payment ids, receipt numbers, a fund's payment reference), masked in prose
(a defaulter mark's reason), never stored in full: not in the mark, not in the ledger's
hash-chained evidence, where nothing can be edited afterwards."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.receivables.models import DefaulterMark
from service.violations.models import Violation
from tests import factories
from tests.factories import open_receivable, receivable_of
from tests.factories import receivable_payment as payment

ID = factories.resident_id(region="110105", seq=123)
MASKED = ID[:6] + "********" + ID[-4:]


@pytest.mark.parametrize("field", ["his_payment_id", "receipt_no"])
async def test_a_payment_identifier_holding_an_id_number_is_refused(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], field: str
) -> None:
    settlement, receivable = await open_receivable(app, client, hospital_headers)
    response = await client.post(
        f"/v1/receivables/{receivable['id']}/payments",
        json=payment("10.00", **{field: ID}),
        headers=hospital_headers,
    )
    assert response.status_code == 422, response.text
    assert ID not in response.text
    refused = [e["field"] for e in response.json()["errors"] if e["code"] == "resident_id_in_text"]
    assert refused == [field]
    assert (await receivable_of(client, hospital_headers, settlement["id"]))["payments"] == []


async def test_a_defaulter_marks_reason_is_stored_and_booked_masked(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    settlement, receivable = await open_receivable(app, client, hospital_headers)
    marked = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": f"拒付，身份证{ID}"},
        headers=hospital_headers,
    )
    assert marked.status_code == 201, marked.text
    assert marked.json()["reason"] == f"拒付，身份证{MASKED}"
    assert marked.json()["violation_booked"] == "DEFAULTER_WITHOUT_REMINDERS"
    history = await client.get("/v1/receivables/defaulters", headers=auditor_headers)
    assert ID not in history.text
    async with app.state.sessionmaker() as s:
        marks = (await s.exec(select(DefaulterMark.reason))).all()
        evidence = (await s.exec(select(Violation.evidence))).all()
    assert ID not in str(marks) + str(evidence)
    assert MASKED in str(evidence)
