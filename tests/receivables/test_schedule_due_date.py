"""分期付款 is agreed at discharge, before the share falls due (ADR 0014, amendment 1). A share
already overdue gets no schedule afterwards: one agreed late would make it not overdue, restart
the defaulter clock (恶意拖欠) and hide the overdue months from the county's reports. The due
date is a China day: a schedule may be agreed until its last minute, 23:59 China time."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import clock_at, open_receivable, receivable_of, resident_id

# settled_share discharges on 2024-03-10 10:00 China time; the demo policy's 30 days make the
# share due on 2024-04-09, so it is overdue from 2024-04-10 (China), 2024-04-09T16:00Z.
LATE_PLAN_DAY = "2099-12-01"


def _plan(receivable: dict[str, Any], day: str = LATE_PLAN_DAY) -> dict[str, Any]:
    return {"instalments": [{"due_on": day, "amount": receivable["amount_due"]}]}


async def test_an_overdue_share_gets_no_schedule_and_stays_overdue(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    settlement, receivable = await open_receivable(app, client, hospital_headers)
    assert (receivable["overdue"], receivable["overdue_since"]) == (True, "2024-04-09")
    url = f"/v1/receivables/{receivable['id']}/instalments"
    refused = await client.post(url, json=_plan(receivable), headers=hospital_headers)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "schedule_after_due_date"
    assert "2024-04-09" in refused.json()["detail"]
    after = await receivable_of(client, hospital_headers, settlement["id"])
    assert (after["instalments"], after["overdue_since"]) == ([], "2024-04-09")
    assert after["may_mark_defaulter_from"] == "2024-05-09"
    listed = (await client.get("/v1/receivables/overdue", headers=hospital_headers)).json()
    assert [r["id"] for r in listed["receivables"]] == [receivable["id"]]


@pytest.mark.parametrize(
    ("instant", "status"),
    [
        ("2024-04-09T10:00:00+08:00", 201),  # the due day
        ("2024-04-09T23:59:00+08:00", 201),  # its last minute in China (15:59 UTC)
        ("2024-04-10T00:00:00+08:00", 409),  # 16:00 UTC: the next day in China, overdue
    ],
)
async def test_a_schedule_may_be_agreed_until_the_end_of_the_due_day_in_china(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    instant: str,
    status: int,
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers, resident=resident_id())
    url = f"/v1/receivables/{receivable['id']}/instalments"
    with clock_at(instant):
        answer = await client.post(url, json=_plan(receivable), headers=hospital_headers)
    assert answer.status_code == status, answer.text


async def test_a_schedule_agreed_in_time_is_replayed_after_the_due_date(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # The HIS retries a request it sent on the due day: the same schedule is a replay, not a
    # refusal; a different one is told the schedule exists (it was agreed, once).
    _, receivable = await open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}/instalments"
    with clock_at("2024-04-09T18:00:00+08:00"):
        agreed = await client.post(url, json=_plan(receivable), headers=hospital_headers)
    assert agreed.status_code == 201, agreed.text
    again = await client.post(url, json=_plan(receivable), headers=hospital_headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    other = await client.post(url, json=_plan(receivable, "2099-12-02"), headers=hospital_headers)
    assert (other.status_code, other.json()["code"]) == (409, "schedule_exists")
