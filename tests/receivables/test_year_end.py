"""A county's patient share across 31 December → 1 January (China time, UTC+8): a stay
discharged on 30 December with instalments in January and February, payments and reminders on
either side of midnight, the overdue list, the defaulter's grace period, the indicators of both
years and the console's page, each read with the clock where the county's desk would be.

The year is last year's end, counted from `china_time.today()`; every step moves the clock
(time-machine) to its instant, so the story holds whenever (and under whatever `--clock`) the
suite runs. Midnight in China is 16:00 UTC on 31 December, still the old year in UTC."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service import china_time
from tests import factories
from tests.factories import clock_at, receivable_of, settle, settlement_request
from tests.factories import receivable_payment as payment

Y = china_time.today().year - 1  # the year the stay ends in
NY = Y + 1


def cn(day: str, hhmm: str = "10:00") -> str:
    """An instant in China time: `day` is "MM-DD" of Y, or "+MM-DD" of the year after."""
    year, md = (NY, day[1:]) if day.startswith("+") else (Y, day)
    return f"{year}-{md}T{hhmm}:00+08:00"


def d(day: str) -> str:
    return cn(day)[:10]


async def _login(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(
        "/console/login",
        data={"api_key": headers["X-API-Key"]},
        headers={"Origin": "http://testserver"},  # signed in before: the form is checked
    )
    assert response.status_code == 303, response.text


async def _discharged_on_30_december(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], seq: int
) -> dict[str, Any]:
    resident = factories.resident_id(region=factories.COUNTY, seq=seq)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, resident=resident, admitted_at=factories.at(Y, 12, 20)
        )
    with clock_at(cn("12-30", "18:00")):
        settled = await settle(
            client,
            headers,
            settlement_request(visit.visit_id, discharged_at=cn("12-30", "10:00")),
        )
        return await receivable_of(client, headers, settled["id"])


async def _get(client: httpx.AsyncClient, headers: dict[str, str], rid: int) -> dict[str, Any]:
    answer = await client.get(f"/v1/receivables/{rid}", headers=headers)
    assert answer.status_code == 200, answer.text
    got: dict[str, Any] = answer.json()
    return got


def _row(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["hospitals"]
    got: dict[str, Any] = row
    return got


async def test_a_share_discharged_on_30_december_and_paid_in_instalments_over_new_year(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    h = hospital_headers
    share = await _discharged_on_30_december(app, client, h, seq=301)
    url = f"/v1/receivables/{share['id']}"
    # 30 December + the policy's 30 days: due on 29 January of the new year, not overdue
    assert (share["due_on"], share["overdue"]) == (d("+01-29"), False)
    assert share["discharged_at"] == f"{Y}-12-30T02:00:00Z"
    cents = int(share["amount_due"].replace(".", ""))
    rest = f"{(cents - 300_00) / 100:.2f}"
    plan = {
        "instalments": [
            {"due_on": d("+01-15"), "amount": "300.00"},
            {"due_on": d("+02-15"), "amount": rest},
        ]
    }

    # 31 December, 23:50 in China (15:50 UTC): the schedule, then a payment at 23:30
    with clock_at(cn("12-31", "23:50")):
        agreed = await client.post(f"{url}/instalments", json=plan, headers=h)
        assert agreed.status_code == 201, agreed.text
        paid = payment("100.00", "YE1", paid_at=cn("12-31", "23:30"))
        assert (await client.post(f"{url}/payments", json=paid, headers=h)).status_code == 201
    # 1 January, 00:30 in China, still 31 December in UTC: a payment and a reminder at 00:10
    with clock_at(cn("+01-01", "00:30")):
        paid = payment("100.00", "YE2", paid_at=cn("+01-01", "00:10"))
        second = await client.post(f"{url}/payments", json=paid, headers=h)
        assert second.status_code == 201, second.text
        sms = {"channel": "sms", "sent_at": cn("+01-01", "00:10")}
        assert (await client.post(f"{url}/reminders", json=sms, headers=h)).status_code == 201
        got = await _get(client, h, share["id"])
        assert [p["paid_at"] for p in got["payments"]] == [
            f"{Y}-12-31T15:30:00Z",
            f"{Y}-12-31T16:10:00Z",
        ]
        assert (got["paid"], got["overdue"], got["overdue_since"]) == ("200.00", False, None)
        assert [(i["covered"], i["overdue"]) for i in got["instalments"]] == [
            ("200.00", False),
            ("0.00", False),
        ]
        # the share is the year it was discharged in: both payments count towards its paid
        old = _row(await client.get("/v1/receivables/indicators", params={"year": Y}, headers=h))
        assert (old["due"], old["paid"]) == (share["amount_due"], "200.00")
        assert (old["overdue_count"], old["not_yet_due_count"]) == (0, 0)
        new = await client.get("/v1/receivables/indicators", params={"year": NY}, headers=h)
        assert new.status_code == 200, new.text
        assert [(r["due"], r["paid"]) for r in new.json()["hospitals"]] == []
        # no finding: every payment was after the discharge
        ledger = await client.get("/v1/violations", headers=auditor_headers)
        assert ledger.status_code == 200, ledger.text
        assert ledger.json()["items"] == []

    # 15 January is the first instalment's day, not yet overdue; from 16 January it is
    with clock_at(cn("+01-15", "23:59")):
        assert (await _get(client, h, share["id"]))["overdue"] is False
        listed = (await client.get("/v1/receivables/overdue", headers=h)).json()
        assert listed["count"] == 0
        late_plan = await client.post(f"{url}/instalments", json=plan, headers=h)
        assert (late_plan.status_code, late_plan.headers.get("Idempotent-Replayed")) == (
            201,
            "true",
        )
    with clock_at(cn("+01-16", "00:00")):
        got = await _get(client, h, share["id"])
        assert (got["overdue"], got["overdue_since"], got["days_overdue"]) == (
            True,
            d("+01-15"),
            1,
        )
        assert got["may_mark_defaulter_from"] == d("+02-14")  # + the policy's 30 days' grace
        assert [i["overdue"] for i in got["instalments"]] == [True, False]
        listed = (await client.get("/v1/receivables/overdue", headers=h)).json()
        assert [(r["id"], r["days_overdue"]) for r in listed["receivables"]] == [(share["id"], 1)]
        # the overdue figures are about now, whatever year is asked: its share is last year's
        old = _row(await client.get("/v1/receivables/indicators", params={"year": Y}, headers=h))
        assert (old["overdue_count"], old["overdue_amount"], old["overdue_max_days"]) == (
            1,
            f"{(cents - 200_00) / 100:.2f}",
            1,
        )
        await _login(client, auditor_headers)
        page = await client.get("/console/receivables")
        assert page.status_code == 200, page.text
        assert '<strong id="overdue-count">1</strong>' in page.text
        assert f"第1期 {d('+01-15')} 300.00（逾期）" in page.text
        assert d("+01-29") in page.text
        sms = {"channel": "letter", "sent_at": cn("+01-16", "00:00")}
        assert (await client.post(f"{url}/reminders", json=sms, headers=h)).status_code == 201

    # The grace period runs to 13 February, 23:59 in China; at midnight the mark is allowed
    mark = {"reason": "多次催缴拒不缴费"}
    with clock_at(cn("+02-13", "23:59")):
        early = await client.post(f"{url}/defaulter", json=mark, headers=h)
        assert (early.status_code, early.json()["code"]) == (409, "grace_period_running")
        assert d("+02-14") in early.json()["detail"]
    with clock_at(cn("+02-14", "00:00")):
        marked = await client.post(f"{url}/defaulter", json=mark, headers=h)
        assert marked.status_code == 201, marked.text
        # the reminder sent at 00:10 on 1 January and the letter of 16 January both count
        assert (marked.json()["reminders_sent"], marked.json()["violation_booked"]) == (2, None)
        got = await _get(client, h, share["id"])
        assert (got["defaulter"], got["days_overdue"]) == (True, 30)
        await _login(client, auditor_headers)
        page = await client.get("/console/receivables")
        assert "多次催缴拒不缴费" in page.text
        assert f"<td>{NY}-02-14 00:00</td>" in page.text  # the mark's time, China's (16:00 UTC)

    # The patient pays the first instalment's rest on 20 February: the second (due 15
    # February) is still unpaid, so the share stays overdue, now since 15 February.
    with clock_at(cn("+02-20")):
        paid = payment("100.00", "YE3", paid_at=cn("+02-20", "09:00"))
        assert (await client.post(f"{url}/payments", json=paid, headers=h)).status_code == 201
        got = await _get(client, h, share["id"])
        assert (got["overdue_since"], got["days_overdue"]) == (d("+02-15"), 5)
        assert [(i["covered"], i["overdue"]) for i in got["instalments"]] == [
            ("300.00", False),
            ("0.00", True),
        ]


@pytest.mark.parametrize(
    ("instant", "overdue"),
    [(cn("+01-29", "23:59"), False), (cn("+01-30", "00:00"), True)],
)
async def test_a_share_without_a_schedule_falls_overdue_at_midnight_in_china(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    instant: str,
    overdue: bool,
) -> None:
    share = await _discharged_on_30_december(app, client, hospital_headers, seq=311)
    with clock_at(instant):
        got = await _get(client, hospital_headers, share["id"])
        listed = (await client.get("/v1/receivables/overdue", headers=hospital_headers)).json()
    assert (got["overdue"], got["overdue_since"]) == (overdue, d("+01-29") if overdue else None)
    assert listed["count"] == int(overdue)


async def test_a_schedule_agreed_in_january_on_a_december_discharge_is_in_time(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # Agreed on 29 January (the due day) it is in time; on 30 January it is refused.
    h = hospital_headers
    shares = [await _discharged_on_30_december(app, client, h, seq=s) for s in (321, 322)]
    plan = [{"instalments": [{"due_on": d("+03-01"), "amount": s["amount_due"]}]} for s in shares]
    with clock_at(cn("+01-29", "23:00")):
        first = await client.post(f"/v1/receivables/{shares[0]['id']}/instalments",
                                  json=plan[0], headers=h)  # fmt: skip
    with clock_at(cn("+01-30", "08:00")):
        second = await client.post(f"/v1/receivables/{shares[1]['id']}/instalments",
                                   json=plan[1], headers=h)  # fmt: skip
        listed = (await client.get("/v1/receivables/overdue", headers=h)).json()
    assert first.status_code == 201, first.text
    assert (second.status_code, second.json()["code"]) == (409, "schedule_after_due_date")
    assert [r["id"] for r in listed["receivables"]] == [shares[1]["id"]]


async def test_a_share_is_counted_in_the_year_of_its_discharge_in_china(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # Discharged at 23:30 and 00:30 China time, both on 31 December in UTC: the first is due
    # 30 January and counted in the old year; the second due 31 January, in the new one.
    h = hospital_headers
    shares = []
    for seq, at in ((331, cn("12-31", "23:30")), (332, cn("+01-01", "00:30"))):
        resident = factories.resident_id(region=factories.COUNTY, seq=seq)
        async with app.state.sessionmaker() as s:
            visit = await factories.make_admission(
                s, resident=resident, admitted_at=factories.at(Y, 12, 20)
            )
        with clock_at(cn("+01-01", "09:00")):
            settled = await settle(client, h, settlement_request(visit.visit_id, discharged_at=at))
            shares.append(await receivable_of(client, h, settled["id"]))
    assert [s["due_on"] for s in shares] == [d("+01-30"), d("+01-31")]
    with clock_at(cn("+01-01", "09:00")):
        rows = [
            _row(await client.get("/v1/receivables/indicators", params={"year": y}, headers=h))
            for y in (Y, NY)
        ]
    assert [r["due"] for r in rows] == [s["amount_due"] for s in shares]
    with clock_at(cn("+01-31", "00:00")):
        listed = (await client.get("/v1/receivables/overdue", headers=h)).json()
    assert [r["id"] for r in listed["receivables"]] == [shares[0]["id"]]


def test_the_story_dates_are_last_year_end_in_china() -> None:
    assert (date.fromisoformat(d("12-31")) - date.fromisoformat(d("12-30"))).days == 1
    assert date.fromisoformat(d("+01-01")).year == china_time.today().year
