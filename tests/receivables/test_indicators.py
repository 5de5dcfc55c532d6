"""先诊疗后付费 indicators: share of eligible admissions settled under it, collection rate,
overdue amount and age, per hospital and county, each as counted from what the test did."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from fastapi import FastAPI

from service.china_time import CHINA_TZ
from service.receivables import indicators
from tests import factories
from tests.factories import receivable_of, settle
from tests.factories import receivable_payment as payment
from tests.factories import settlement_request as body


async def test_indicators_count_what_happened(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
) -> None:
    admitted = datetime(2026, 3, 1, tzinfo=UTC)
    async with app.state.sessionmaker() as s:
        settled_free = await factories.make_admission(s, admitted_at=admitted)
        with_deposit = await factories.make_admission(
            s, admitted_at=admitted, deposit_taken_fen=500_00
        )
        await factories.make_admission(s, admitted_at=admitted)  # eligible, not settled yet
        await factories.make_admission(s, admitted_at=admitted, eligible=False)
    shares = []
    for admission in (settled_free, with_deposit):
        got = await settle(
            client,
            hospital_headers,
            body(admission.visit_id, discharged_at="2026-03-10T10:00:00+08:00"),
        )
        shares.append(await receivable_of(client, hospital_headers, got["id"]))
    await client.post(
        f"/v1/receivables/{shares[0]['id']}/payments",
        json=payment(shares[0]["amount_due"], paid_at="2026-03-12T10:00:00+08:00"),
        headers=hospital_headers,
    )
    due = sum(Decimal(r["amount_due"]) for r in shares)
    response = await client.get(
        "/v1/receivables/indicators", params={"year": 2026}, headers=auditor_headers
    )
    assert response.status_code == 200, response.text
    got = response.json()
    [hospital] = got["hospitals"]
    assert hospital["code"] == factories.COUNTY_HOSPITAL
    assert (hospital["eligible_admissions"], hospital["settled_pay_after_treatment"]) == (3, 1)
    assert hospital["pay_after_treatment_share"] == "0.3333"
    assert Decimal(hospital["due"]) == due
    assert hospital["paid"] == shares[0]["amount_due"]
    assert Decimal(hospital["collection_rate"]) == (
        Decimal(shares[0]["amount_due"]) / due
    ).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    assert hospital["overdue_count"] == 1
    assert hospital["overdue_amount"] == shares[1]["amount_due"]
    assert (
        hospital["overdue_max_days"]
        == (datetime.now(CHINA_TZ).date() - datetime(2026, 4, 9).date()).days
    )
    [county] = got["counties"]
    assert (county["code"], county["eligible_admissions"]) == (factories.COUNTY, 3)
    other = await client.get(
        "/v1/receivables/indicators", params={"year": 2026}, headers=other_hospital_headers
    )
    assert other.json()["hospitals"] == []


async def test_every_open_share_is_counted_a_page_at_a_time(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One read of 100,000 at most stood for all a province's open shares; now they are read
    # a page at a time (here of 2) until none is left, and each is counted once.
    monkeypatch.setattr(indicators, "PAGE", 2)
    admitted = datetime(2026, 3, 1, tzinfo=UTC)
    async with app.state.sessionmaker() as s:
        admissions = [await factories.make_admission(s, admitted_at=admitted) for _ in range(5)]
    due = Decimal(0)
    for admission in admissions:
        got = await settle(
            client,
            hospital_headers,
            body(admission.visit_id, discharged_at="2026-03-10T10:00:00+08:00"),
        )
        due += Decimal((await receivable_of(client, hospital_headers, got["id"]))["amount_due"])
    response = await client.get(
        "/v1/receivables/indicators", params={"year": 2026}, headers=auditor_headers
    )
    assert response.status_code == 200, response.text
    [hospital] = response.json()["hospitals"]
    assert hospital["overdue_count"] == 5
    assert Decimal(hospital["overdue_amount"]) == due
