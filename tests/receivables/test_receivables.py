"""Receivables: one per settlement with a patient share under pay-after-treatment, payments
(partial, idempotent, never more than due), cancellation by reversal, instalments, overdue."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.violations.models import Violation
from tests.factories import AT_DISCHARGE, clock_at, receivable_of
from tests.factories import receivable_payment as payment
from tests.factories import settled_share as settled


async def test_a_settlement_with_a_patient_share_opens_a_receivable_due_per_the_policy(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    assert receivable["amount_due"] == settlement["psn_part_amt"]
    assert Decimal(receivable["amount_due"]) > 0
    assert receivable["due_on"] == "2024-04-09"  # discharged 2024-03-10 + 30 days (demo policy)
    assert receivable["status"] == "open"
    assert receivable["overdue"] is True
    assert receivable["may_mark_defaulter_from"] == "2024-05-09"  # + 30 days' grace


async def test_no_receivable_outside_pay_after_treatment(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers, categories=["not_covered"])
    response = await client.get(
        "/v1/receivables", params={"settlement_id": settlement["id"]}, headers=hospital_headers
    )
    assert response.json() == []


async def test_payments_are_partial_idempotent_and_never_more_than_due(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    due = Decimal(receivable["amount_due"])
    url = f"/v1/receivables/{receivable['id']}/payments"
    first = await client.post(url, json=payment("100.00", "P1"), headers=hospital_headers)
    assert first.status_code == 201, first.text
    assert first.json()["paid"] == "100.00"
    replay = await client.post(url, json=payment("100.00", "P1"), headers=hospital_headers)
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert replay.json()["paid"] == "100.00"
    other = await client.post(url, json=payment("99.00", "P1"), headers=hospital_headers)
    assert (other.status_code, other.json()["code"]) == (409, "payment_conflict")
    too_much = await client.post(url, json=payment(str(due), "P2"), headers=hospital_headers)
    assert (too_much.status_code, too_much.json()["code"]) == (409, "payment_exceeds_due")
    rest = await client.post(url, json=payment(str(due - 100), "P3"), headers=hospital_headers)
    assert rest.json()["status"] == "paid"
    assert rest.json()["outstanding"] == "0.00"
    assert [p["method"] for p in rest.json()["payments"]] == ["wechat_pay", "wechat_pay"]
    more = await client.post(url, json=payment("0.01", "P4"), headers=hospital_headers)
    assert (more.status_code, more.json()["code"]) == (409, "receivable_paid")
    bad = await client.post(
        url, json=payment("1", "P5", method="bitcoin"), headers=hospital_headers
    )
    assert bad.status_code == 422


async def test_a_reversal_cancels_the_receivable_and_says_what_to_refund(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    url = f"/v1/receivables/{receivable['id']}/payments"
    await client.post(url, json=payment("120.00", "P1"), headers=hospital_headers)
    reversed_ = await client.post(
        f"/v1/settlements/{settlement['id']}/reversal",
        json={"reason": "HIS 冲销"},
        headers=hospital_headers,
    )
    assert reversed_.status_code == 201
    cancelled = await receivable_of(client, hospital_headers, settlement["id"])
    assert cancelled["status"] == "cancelled"
    assert (cancelled["refund_due"], cancelled["outstanding"]) == ("120.00", "0.00")
    late = await client.post(url, json=payment("1.00", "P2"), headers=hospital_headers)
    assert (late.status_code, late.json()["code"]) == (409, "receivable_cancelled")
    assert "120.00" in late.json()["detail"]


async def test_a_payment_before_discharge_is_booked_as_demanded_up_front(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    early = payment("50.00", "P1", paid_at="2024-03-05T09:00:00+08:00")
    url = f"/v1/receivables/{receivable['id']}/payments"
    assert (await client.post(url, json=early, headers=hospital_headers)).status_code == 201
    async with app.state.sessionmaker() as s:
        rules = (await s.exec(select(Violation.rule_code))).all()
    assert "PREPAYMENT_DEMANDED" in rules


async def _prepayments(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as s:
        rules = (await s.exec(select(Violation.rule_code))).all()
    return [r for r in rules if r == "PREPAYMENT_DEMANDED"]


async def test_a_payment_seconds_before_the_his_discharge_is_clock_skew_not_a_prepayment(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # Discharged 10:00:00 by the HIS; the cashier's till, on another clock, stamped 09:59:30.
    # Within SETTLECHECK_CLOCK_SKEW_SECONDS (300 s in tests, as deposits and reminders are
    # judged) it is the payment at discharge; five minutes and a second before is demanded.
    assert app.state.settings.clock_skew_seconds == 300
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    url = f"/v1/receivables/{receivable['id']}/payments"
    at_desk = payment("10.00", "P1", paid_at="2024-03-10T09:59:30+08:00")
    assert (await client.post(url, json=at_desk, headers=hospital_headers)).status_code == 201
    assert await _prepayments(app) == []
    early = payment("10.00", "P2", paid_at="2024-03-10T09:54:59+08:00")
    assert (await client.post(url, json=early, headers=hospital_headers)).status_code == 201
    assert await _prepayments(app) == ["PREPAYMENT_DEMANDED"]


async def test_instalments_are_agreed_once_and_overdue_ones_listed(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    due = Decimal(receivable["amount_due"])
    url = f"/v1/receivables/{receivable['id']}/instalments"
    parts = [
        {"due_on": "2024-04-10", "amount": "100.00"},
        {"due_on": "2024-05-10", "amount": str(due - 100)},
    ]
    with clock_at(AT_DISCHARGE):
        wrong_sum = await client.post(
            url, json={"instalments": parts[:1]}, headers=hospital_headers
        )
        backwards = await client.post(
            url, json={"instalments": parts[::-1]}, headers=hospital_headers
        )
        agreed = await client.post(url, json={"instalments": parts}, headers=hospital_headers)
    assert (wrong_sum.status_code, wrong_sum.json()["code"]) == (422, "invalid_schedule")
    assert backwards.json()["errors"][0]["field"] == "instalments.1.due_on"
    assert agreed.status_code == 201, agreed.text
    again = await client.post(url, json={"instalments": parts}, headers=hospital_headers)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    changed = [parts[0], {**parts[1], "due_on": "2024-06-10"}]
    other = await client.post(url, json={"instalments": changed}, headers=hospital_headers)
    assert (other.status_code, other.json()["code"]) == (409, "schedule_exists")
    await client.post(
        f"/v1/receivables/{receivable['id']}/payments",
        json=payment("100.00"),
        headers=hospital_headers,
    )
    shown = await receivable_of(client, hospital_headers, settlement["id"])
    assert [(i["covered"], i["overdue"]) for i in shown["instalments"]] == [
        ("100.00", False),
        ("0.00", True),
    ]
    assert shown["overdue_since"] == "2024-05-10"


async def test_a_cancelled_schedule_shows_only_what_was_paid_as_covered(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    due = Decimal(receivable["amount_due"])
    parts = [
        {"due_on": "2024-04-10", "amount": "100.00"},
        {"due_on": "2024-05-10", "amount": "50.00"},
        {"due_on": "2024-06-10", "amount": str(due - 150)},
    ]
    base = f"/v1/receivables/{receivable['id']}"
    with clock_at(AT_DISCHARGE):
        agreed = await client.post(
            f"{base}/instalments", json={"instalments": parts}, headers=hospital_headers
        )
    assert agreed.status_code == 201, agreed.text
    paid = await client.post(f"{base}/payments", json=payment("120.00"), headers=hospital_headers)
    assert paid.status_code == 201, paid.text
    reversed_ = await client.post(
        f"/v1/settlements/{settlement['id']}/reversal",
        json={"reason": "HIS 冲销"},
        headers=hospital_headers,
    )
    assert reversed_.status_code == 201, reversed_.text
    cancelled = await receivable_of(client, hospital_headers, settlement["id"])
    assert (cancelled["status"], cancelled["paid"], cancelled["refund_due"]) == (
        "cancelled",
        "120.00",
        "120.00",
    )
    # the 120.00 paid covers the first instalment and 20.00 of the second; the rest was never
    # paid, and nothing is overdue on a share no longer owed
    assert [(i["covered"], i["overdue"]) for i in cancelled["instalments"]] == [
        ("100.00", False),
        ("20.00", False),
        ("0.00", False),
    ]
    assert cancelled["overdue"] is False


async def test_overdue_lists_are_per_hospital_and_region(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    own = (await client.get("/v1/receivables/overdue", headers=hospital_headers)).json()
    assert [r["id"] for r in own["receivables"]] == [receivable["id"]]
    assert own["outstanding"] == receivable["amount_due"]
    assert own["oldest_days"] > 900
    other = (await client.get("/v1/receivables/overdue", headers=other_hospital_headers)).json()
    assert other["count"] == 0
    hidden = await client.get(f"/v1/receivables/{receivable['id']}", headers=other_hospital_headers)
    assert hidden.status_code == 404
    audit = (await client.get("/v1/receivables/overdue", headers=auditor_headers)).json()
    assert audit["count"] == 1


async def test_the_slip_shows_the_due_date_and_the_instalments(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    due = Decimal(receivable["amount_due"])
    parts = [
        {"due_on": "2024-04-10", "amount": "100.00"},
        {"due_on": "2024-05-10", "amount": str(due - 100)},
    ]
    with clock_at(AT_DISCHARGE):
        agreed = await client.post(
            f"/v1/receivables/{receivable['id']}/instalments",
            json={"instalments": parts},
            headers=hospital_headers,
        )
    assert agreed.status_code == 201, agreed.text
    slip = await client.get(f"/v1/settlements/{settlement['id']}/slip", headers=hospital_headers)
    assert slip.status_code == 200
    assert "缴费期限" in slip.text
    assert "2024-04-09" in slip.text
    assert "分期第 2 期" in slip.text
    assert "2024-05-10" in slip.text
