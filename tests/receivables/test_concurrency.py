"""A payment racing the settlement's reversal (PostgreSQL: real concurrency): either the
payment lands first and the cancellation says to refund it, or the reversal lands first and
the payment is refused. Never a payment on a cancelled receivable left unrefunded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.receivables.models import DefaulterMark, Receivable, ReceivablePayment
from service.violations.models import Violation
from tests.factories import AT_DISCHARGE, clock_at, open_receivable, receivable_of, resident_id
from tests.factories import receivable_payment as payment
from tests.factories import settled_share as settled


@pytest.mark.postgres
async def test_a_payment_racing_a_reversal_is_refunded_or_refused(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    for round_ in range(6):
        settlement = await settled(app, client, hospital_headers)
        receivable = await receivable_of(client, hospital_headers, settlement["id"])
        pay, reverse = await asyncio.gather(
            client.post(
                f"/v1/receivables/{receivable['id']}/payments",
                json=payment("80.00", f"P{round_}"),
                headers=hospital_headers,
            ),
            client.post(
                f"/v1/settlements/{settlement['id']}/reversal",
                json={"reason": "race"},
                headers=hospital_headers,
            ),
        )
        assert reverse.status_code == 201, reverse.text
        assert pay.status_code in (201, 409), pay.text
        async with app.state.sessionmaker() as s:
            row = (await s.exec(select(Receivable).where(Receivable.id == receivable["id"]))).one()
            paid = sum(
                p.amount_fen
                for p in (
                    await s.exec(
                        select(ReceivablePayment).where(
                            ReceivablePayment.receivable_id == receivable["id"]
                        )
                    )
                ).all()
            )
        assert row.status == "cancelled"
        assert row.refund_due_fen == paid == row.paid_fen
        assert paid == (80_00 if pay.status_code == 201 else 0)
        if pay.status_code == 409:
            assert pay.json()["code"] == "receivable_cancelled"


async def _at_once(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, *bodies: dict[str, Any]
) -> list[httpx.Response]:
    """POST each body to `url` at the same time (a retry racing the original, a double click)."""
    return list(await asyncio.gather(*(client.post(url, json=b, headers=headers) for b in bodies)))


@pytest.mark.postgres
async def test_a_payment_retried_while_the_first_commits_is_answered_as_a_replay(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # The HIS timed out and sent the same payment again at once: one payment, one 201, and the
    # twin answered with the same body (201 again, Idempotent-Replayed: ADR 0030), never a 409.
    for round_ in range(6):
        settlement, receivable = await open_receivable(app, client, hospital_headers)
        body = payment("80.00", f"T{round_}")
        url = f"/v1/receivables/{receivable['id']}/payments"
        twins = await _at_once(client, hospital_headers, url, body, body)
        assert [t.status_code for t in twins] == [201, 201], [t.text for t in twins]
        assert twins[0].json() == twins[1].json()
        replayed = sorted(t.headers.get("Idempotent-Replayed", "") for t in twins)
        assert replayed == ["", "true"]
        after = await receivable_of(client, hospital_headers, settlement["id"])
        assert (after["paid"], len(after["payments"])) == ("80.00", 1)


@pytest.mark.postgres
async def test_a_schedule_sent_twice_at_once_is_agreed_once(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # Twins: one 201, the other its replay; two different plans at once: one wins, the other is
    # told a schedule exists. Never a 500 from the second insert of instalment 1.
    for round_ in range(6):
        settlement, receivable = await open_receivable(app, client, hospital_headers)
        due = receivable["amount_due"]
        plans = [[{"due_on": "2024-04-10", "amount": due}]] * 2
        if round_ % 2:
            plans[1] = [{"due_on": "2024-05-10", "amount": due}]
        with clock_at(AT_DISCHARGE):
            answers = await _at_once(
                client,
                hospital_headers,
                f"/v1/receivables/{receivable['id']}/instalments",
                *({"instalments": p} for p in plans),
            )
        codes = sorted(a.status_code for a in answers)
        assert codes == ([201, 409] if round_ % 2 else [201, 201]), [a.text for a in answers]
        if round_ % 2:
            assert next(a for a in answers if a.status_code == 409).json()["code"] == (
                "schedule_exists"
            )
        after = await receivable_of(client, hospital_headers, settlement["id"])
        assert len(after["instalments"]) == 1


@pytest.mark.postgres
async def test_a_defaulter_mark_sent_twice_at_once_is_one_mark_and_one_finding(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # A double click on the HIS's 标记恶意拖欠 button: one mark, one DEFAULTER_WITHOUT_REMINDERS
    # (points against the hospital), the twin a 409 already_marked; then the same for removal.
    for round_ in range(4):
        settlement, receivable = await open_receivable(
            app, client, hospital_headers, resident=resident_id(seq=40 + round_)
        )
        url = f"/v1/receivables/{receivable['id']}/defaulter"
        for path in (url, f"{url}/removal"):
            twins = await _at_once(client, hospital_headers, path, *[{"reason": "拒付"}] * 2)
            assert sorted(t.status_code for t in twins) == [201, 409], [t.text for t in twins]
        async with app.state.sessionmaker() as s:
            marks = (
                await s.exec(
                    select(DefaulterMark.action).where(
                        DefaulterMark.receivable_id == receivable["id"]
                    )
                )
            ).all()
            booked = (
                await s.exec(
                    select(Violation.id).where(
                        Violation.rule_code == "DEFAULTER_WITHOUT_REMINDERS",
                        Violation.visit_id == settlement["visit_id"],
                    )
                )
            ).all()
        assert (list(marks), len(booked)) == (["mark", "unmark"], 1)
