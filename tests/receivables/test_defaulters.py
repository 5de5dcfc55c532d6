"""恶意拖欠: marks after the grace period, with or without the reminders the policy wants;
reversible with history that auditors see."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.violations.models import Violation
from tests import factories
from tests.factories import receivable_of, settle
from tests.factories import settled_share as settled
from tests.factories import settlement_request as body


async def _rules(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as s:
        return list((await s.exec(select(Violation.rule_code))).all())


async def test_a_mark_without_the_reminders_is_booked_and_history_is_kept(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    url = f"/v1/receivables/{receivable['id']}/defaulter"
    await client.post(
        f"/v1/receivables/{receivable['id']}/reminders",
        json={"channel": "sms", "sent_at": "2024-04-20T09:00:00+08:00"},
        headers=hospital_headers,
    )
    marked = await client.post(url, json={"reason": "有能力支付而拒付"}, headers=hospital_headers)
    assert marked.status_code == 201, marked.text
    assert marked.json()["reminders_sent"] == 1
    assert marked.json()["violation_booked"] == "DEFAULTER_WITHOUT_REMINDERS"
    assert "DEFAULTER_WITHOUT_REMINDERS" in await _rules(app)
    assert (await receivable_of(client, hospital_headers, settlement["id"]))["defaulter"] is True
    twice = await client.post(url, json={"reason": "again"}, headers=hospital_headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_marked")
    lifted = await client.post(
        f"{url}/removal", json={"reason": "已还款协商"}, headers=hospital_headers
    )
    assert lifted.status_code == 201
    assert (await receivable_of(client, hospital_headers, settlement["id"]))["defaulter"] is False
    history = (await client.get("/v1/receivables/defaulters", headers=auditor_headers)).json()
    assert [(m["action"], m["reason"]) for m in history] == [
        ("unmark", "已还款协商"),
        ("mark", "有能力支付而拒付"),
    ]
    # The list says what each mark booked, as the mark's own answer did.
    assert [m["violation_booked"] for m in history] == [None, "DEFAULTER_WITHOUT_REMINDERS"]
    assert history[1]["actor"].startswith(f"hospital:{factories.COUNTY_HOSPITAL}")
    again = await client.post(f"{url}/removal", json={"reason": "x"}, headers=hospital_headers)
    assert (again.status_code, again.json()["code"]) == (409, "not_marked")


async def test_a_mark_after_the_reminders_books_nothing(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    for day in ("2024-04-20", "2024-05-01"):
        await client.post(
            f"/v1/receivables/{receivable['id']}/reminders",
            json={"channel": "phone", "sent_at": f"{day}T09:00:00+08:00"},
            headers=hospital_headers,
        )
    marked = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": "多次催缴未果"},
        headers=hospital_headers,
    )
    assert marked.status_code == 201
    assert marked.json()["violation_booked"] is None
    assert "DEFAULTER_WITHOUT_REMINDERS" not in await _rules(app)
    history = (await client.get("/v1/receivables/defaulters", headers=hospital_headers)).json()
    assert [(m["action"], m["violation_booked"]) for m in history] == [("mark", None)]


async def test_no_mark_before_the_grace_period_is_over(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        admission = await factories.make_admission(s, admitted_at=datetime(2026, 11, 1, tzinfo=UTC))
    now = datetime.now(UTC).isoformat()
    settlement = await settle(client, hospital_headers, body(admission.visit_id, discharged_at=now))
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    assert receivable["overdue"] is False
    early = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": "x"},
        headers=hospital_headers,
    )
    assert (early.status_code, early.json()["code"]) == (409, "grace_period_running")


async def test_only_the_hospital_marks_and_others_do_not_see(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    url = f"/v1/receivables/{receivable['id']}/defaulter"
    assert (
        await client.post(url, json={"reason": "x"}, headers=auditor_headers)
    ).status_code == 403
    other = await client.post(url, json={"reason": "x"}, headers=other_hospital_headers)
    assert other.status_code == 404


async def test_a_retried_reminder_is_a_replay_and_counts_once_towards_a_mark(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement = await settled(app, client, hospital_headers)
    receivable = await receivable_of(client, hospital_headers, settlement["id"])
    url = f"/v1/receivables/{receivable['id']}/reminders"
    reminder = {"channel": "sms", "sent_at": "2024-04-20T09:00:00+08:00"}

    first = await client.post(url, json=reminder, headers=hospital_headers)
    retried = await client.post(url, json=reminder, headers=hospital_headers)
    other_channel = await client.post(
        url, json={**reminder, "channel": "phone"}, headers=hospital_headers
    )

    assert first.status_code == 201, first.text
    assert (retried.status_code, retried.headers.get("Idempotent-Replayed")) == (201, "true")
    assert len(retried.json()["reminders"]) == 1
    assert other_channel.status_code == 201, other_channel.text
    assert len(other_channel.json()["reminders"]) == 2
    marked = await client.post(
        f"/v1/receivables/{receivable['id']}/defaulter",
        json={"reason": "多次催缴未果"},
        headers=hospital_headers,
    )
    assert marked.json()["reminders_sent"] == 2
    assert marked.json()["violation_booked"] is None
