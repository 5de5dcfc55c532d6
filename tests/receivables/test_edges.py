"""Receivables used the way a careless or hostile HIS would: a schedule sent twice, payments and
reminders dated in 1900 or 2999, an instalment due in 9999. Each gets a clear answer and
nothing is recorded or booked for a date that cannot be true."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.violations.models import Violation
from tests.factories import AT_DISCHARGE, clock_at, open_receivable, receivable_of, resident_id
from tests.factories import receivable_payment as payment

IMPLAUSIBLE = ["2999-12-31T10:00:00+08:00", "1900-01-01T10:00:00+08:00"]


async def _receivable(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, Any]:
    return (await open_receivable(app, client, headers))[1]


async def test_a_repeated_schedule_answers_200_with_the_replay_header(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    receivable = await _receivable(app, client, hospital_headers)
    parts = [{"due_on": "2024-04-10", "amount": receivable["amount_due"]}]
    url = f"/v1/receivables/{receivable['id']}/instalments"
    with clock_at(AT_DISCHARGE):
        agreed = await client.post(url, json={"instalments": parts}, headers=hospital_headers)
        assert agreed.status_code == 201, agreed.text
        assert "Idempotent-Replayed" not in agreed.headers
        again = await client.post(url, json={"instalments": parts}, headers=hospital_headers)
    assert (again.status_code, again.json()) == (201, agreed.json())
    assert again.headers["Idempotent-Replayed"] == "true"


def _dated(route: str, when: str) -> dict[str, Any]:
    if route == "payments":
        return payment("10.00", "P1", paid_at=when)
    return {"channel": "sms", "sent_at": when}


@pytest.mark.parametrize("when", IMPLAUSIBLE)
@pytest.mark.parametrize(("route", "field"), [("payments", "paid_at"), ("reminders", "sent_at")])
async def test_a_payment_or_reminder_dated_where_none_can_be_is_refused_and_records_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    route: str,
    field: str,
    when: str,
) -> None:
    receivable = await _receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}/{route}"
    refused = await client.post(url, json=_dated(route, when), headers=hospital_headers)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "implausible_date",
        field,
    )
    after = await receivable_of(client, hospital_headers, receivable["settlement_id"])
    assert (after["paid"], after["payments"], after["reminders"]) == ("0.00", [], [])
    async with app.state.sessionmaker() as s:
        rules = (await s.exec(select(Violation.rule_code))).all()
    assert "PREPAYMENT_DEMANDED" not in rules


async def test_a_repeated_payment_answers_200_with_the_replay_header(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    receivable = await _receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}/payments"
    first = await client.post(url, json=payment("10.00", "P1"), headers=hospital_headers)
    assert first.status_code == 201, first.text
    again = await client.post(url, json=payment("10.00", "P1"), headers=hospital_headers)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == first.json()


async def test_an_instalment_due_in_9999_is_refused_naming_it(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    receivable = await _receivable(app, client, hospital_headers)
    parts = [
        {"due_on": "2024-04-10", "amount": "1.00"},
        {"due_on": "9999-12-31", "amount": str(Decimal(receivable["amount_due"]) - 1)},
    ]
    url = f"/v1/receivables/{receivable['id']}/instalments"
    with clock_at(AT_DISCHARGE):
        refused = await client.post(url, json={"instalments": parts}, headers=hospital_headers)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "implausible_date",
        "instalments.1.due_on",
    )
    after = await receivable_of(client, hospital_headers, receivable["settlement_id"])
    assert after["instalments"] == []


async def test_the_overdue_list_finds_an_overdue_share_behind_deferred_ones(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # Three shares due on the same day (discharged 2024-03-10): the first two deferred by an
    # instalment plan agreed at discharge, the third unpaid and overdue. A page of two must
    # still show the third.
    shares = []
    for seq in (11, 12, 13):
        shares.append(
            (await open_receivable(app, client, hospital_headers, resident=resident_id(seq=seq)))[1]
        )
    for deferred in shares[:2]:
        plan = [{"due_on": "2099-12-01", "amount": deferred["amount_due"]}]
        with clock_at(AT_DISCHARGE):
            agreed = await client.post(
                f"/v1/receivables/{deferred['id']}/instalments",
                json={"instalments": plan},
                headers=hospital_headers,
            )
        assert agreed.status_code == 201, agreed.text
    page = await client.get(
        "/v1/receivables/overdue", params={"limit": 2}, headers=hospital_headers
    )
    assert page.status_code == 200, page.text
    assert [r["id"] for r in page.json()["receivables"]] == [shares[2]["id"]]
    assert (page.json()["count"], page.json()["outstanding"]) == (1, shares[2]["amount_due"])


async def test_the_overdue_count_and_amount_cover_every_overdue_share_not_the_page(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    shares = [
        (await open_receivable(app, client, hospital_headers, resident=resident_id(seq=seq)))[1]
        for seq in (21, 22, 23)
    ]
    owed = sum(Decimal(s["amount_due"]) for s in shares)
    everything = await client.get("/v1/receivables/overdue", headers=hospital_headers)
    page = await client.get(
        "/v1/receivables/overdue", params={"limit": 2}, headers=hospital_headers
    )
    assert page.status_code == 200, page.text
    assert len(page.json()["receivables"]) == 2
    assert len(everything.json()["receivables"]) == 3
    for summary in (page.json(), everything.json()):
        assert summary["count"] == 3
        assert Decimal(summary["outstanding"]) == owed


async def test_a_reminder_dated_before_the_share_existed_is_refused_and_not_counted(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    receivable = await _receivable(app, client, hospital_headers)  # discharged 2024-03-10 10:00
    url = f"/v1/receivables/{receivable['id']}/reminders"
    early = {"channel": "sms", "sent_at": "2024-03-09T10:00:00+08:00"}
    refused = await client.post(url, json=early, headers=hospital_headers)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "implausible_date",
        "sent_at",
    )
    sent = {"channel": "sms", "sent_at": "2024-04-20T09:00:00+08:00"}
    assert (await client.post(url, json=sent, headers=hospital_headers)).status_code == 201
    after = await receivable_of(client, hospital_headers, receivable["settlement_id"])
    assert [r["sent_at"] for r in after["reminders"]] == ["2024-04-20T01:00:00Z"]


async def test_a_reminder_of_a_reversed_settlements_share_says_it_was_cancelled(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement, receivable = await open_receivable(app, client, hospital_headers)
    reversal = f"/v1/settlements/{settlement['id']}/reversal"
    reversed_ = await client.post(reversal, json={"reason": "HIS 冲销"}, headers=hospital_headers)
    assert reversed_.status_code == 201, reversed_.text
    reminder = {"channel": "sms", "sent_at": "2024-04-20T09:00:00+08:00"}
    url = f"/v1/receivables/{receivable['id']}/reminders"
    reminded = await client.post(url, json=reminder, headers=hospital_headers)
    assert (reminded.status_code, reminded.json()["code"]) == (409, "receivable_cancelled")


async def test_a_payment_demanded_before_discharge_is_dated_by_the_payment(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:  # fmt: skip
    # Recorded today, about a payment taken on 2024-03-05 during the stay: the ledger's periods
    # (and a county's yearly score) count it in March 2024, as a deposit is counted by its date.
    receivable = await _receivable(app, client, hospital_headers)
    early = payment("50.00", "P1", paid_at="2024-03-05T09:00:00+08:00")
    url = f"/v1/receivables/{receivable['id']}/payments"
    assert (await client.post(url, json=early, headers=hospital_headers)).status_code == 201
    march = {"rule_code": "PREPAYMENT_DEMANDED", "detected_from": "2024-03-01",
             "detected_to": "2024-03-31"}  # fmt: skip
    listed = await client.get("/v1/violations", params=march, headers=auditor_headers)
    assert [v["event_on"] for v in listed.json()["items"]] == ["2024-03-05"]


async def test_a_hospital_asking_for_another_hospitals_overdue_list_gets_none(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # It got its own list, labelled with its own code, as if the filter had been read: the
    # ledger and the defaulter marks answer such a filter with nothing.
    await open_receivable(app, client, hospital_headers, resident=resident_id(seq=31))
    own = await client.get("/v1/receivables/overdue", headers=hospital_headers)
    assert own.json()["count"] == 1
    other = await client.get(
        "/v1/receivables/overdue", params={"hospital_code": "H990103001"}, headers=hospital_headers
    )
    assert other.status_code == 200, other.text
    assert other.json()["hospital_code"] == "H990103001"
    assert (other.json()["count"], other.json()["receivables"]) == (0, [])


async def test_the_overdue_list_is_most_overdue_first_by_the_first_date_missed(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Most overdue first: by the first due date missed (an instalment's, where a schedule is
    in force), then by id. Two shares discharged the same day have the same `due_on`; the
    later one's first instalment fell due earlier and is unpaid, so it is the older debt and
    leads the list, and a page of one shows it and its age (it showed the other)."""
    plain, scheduled = [
        (await open_receivable(app, client, hospital_headers, resident=resident_id(seq=seq)))[1]
        for seq in (31, 32)
    ]
    plan = [
        {"due_on": "2024-03-20", "amount": "1.00"},
        {"due_on": "2099-12-01", "amount": str(Decimal(scheduled["amount_due"]) - 1)},
    ]
    with clock_at(AT_DISCHARGE):
        agreed = await client.post(
            f"/v1/receivables/{scheduled['id']}/instalments",
            json={"instalments": plan},
            headers=hospital_headers,
        )
    assert agreed.status_code == 201, agreed.text
    url = "/v1/receivables/overdue"
    everything = (await client.get(url, headers=hospital_headers)).json()
    listed = everything["receivables"]
    assert [r["id"] for r in listed] == [scheduled["id"], plain["id"]]
    assert listed[0]["days_overdue"] > listed[1]["days_overdue"]
    first = (await client.get(url, params={"limit": 1}, headers=hospital_headers)).json()
    assert [r["id"] for r in first["receivables"]] == [scheduled["id"]]
    assert first["oldest_days"] == everything["oldest_days"] == listed[0]["days_overdue"]
