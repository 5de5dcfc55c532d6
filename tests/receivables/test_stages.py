"""A long stay settled in stages (中途结算) under pay-after-treatment: every stage's share is
owed from the stay's discharge (the final settlement), not from the stage (ADR 0025). A county's
year: three stages, reminders and marks tried mid-stay, a stage reversed and settled again, the
overdue list and the indicators on days before and after discharge, the final reversed and
settled again, and a stay across 1 January."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Connection
from sqlmodel import select

from alembic import command
from service.auth import Principal, Role
from service.base import table_of
from service.migrations import alembic_config
from service.receivables import indicators
from service.receivables import service as receivables
from service.receivables.models import Instalment, Receivable
from service.unit_of_work import unit_of_work
from service.violations.models import Violation
from tests import factories
from tests.factories import at, bill, receivable_of, settle, settlement_request
from tests.factories import receivable_payment as payment

DESK = Principal(key_id=1, role=Role.HOSPITAL, hospital_code=factories.COUNTY_HOSPITAL)


async def _admit(app: FastAPI, seq: int, admitted: tuple[int, int, int]) -> str:
    resident = factories.resident_id(region=factories.COUNTY, seq=seq)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, resident=resident, visit_id=f"MS{seq}", admitted_at=at(*admitted)
        )
    return str(visit.visit_id)


def _stage(visit_id: str, his: str, end: str, *, mid: bool) -> dict[str, Any]:
    return settlement_request(
        visit_id,
        his=his,
        discharged_at=f"{end}T10:00:00+08:00",
        bill=bill("20000.00", "500.00"),
        mid_settlement=mid,
    )


async def _share(
    client: httpx.AsyncClient, headers: dict[str, str], visit_id: str, his: str, end: str, mid: bool
) -> dict[str, Any]:
    settled = await settle(client, headers, _stage(visit_id, his, end, mid=mid))
    return await receivable_of(client, headers, settled["id"])


async def _reverse(client: httpx.AsyncClient, headers: dict[str, str], settlement_id: int) -> None:
    answer = await client.post(
        f"/v1/settlements/{settlement_id}/reversal", json={"reason": "冲销"}, headers=headers
    )
    assert answer.status_code == 201, answer.text


async def _overdue_ids(app: FastAPI, day: date) -> set[int]:
    async with unit_of_work(app.state.sessionmaker) as uow:
        late = await receivables.overdue_list(
            uow, principal=DESK, hospital_code=None, limit=100, today=day
        )
    assert late.count == len(late.receivables)
    return {r.id for r in late.receivables}


async def _hospital_row(app: FastAPI, year: int, day: date) -> indicators.PayAfterTreatmentRow:
    async with unit_of_work(app.state.sessionmaker) as uow:
        found = await indicators.pay_after_treatment(uow, principal=DESK, year=year, today=day)
    [row] = found.hospitals
    return row


async def _get(client: httpx.AsyncClient, headers: dict[str, str], rid: int) -> dict[str, Any]:
    answer = await client.get(f"/v1/receivables/{rid}", headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _refused(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, body: dict[str, Any]
) -> tuple[int, str]:
    answer = await client.post(url, json=body, headers=headers)
    return answer.status_code, answer.json().get("code", "")


async def test_a_stay_settled_in_stages_is_owed_from_its_discharge(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    h = hospital_headers
    visit = await _admit(app, 91, (2024, 3, 1))
    first = await _share(client, h, visit, "ST1", "2024-03-10", mid=True)
    second = await _share(client, h, visit, "ST2", "2024-03-20", mid=True)

    # In the ward: owed, not due (the stage's own end + 30 days would be 2024-04-09).
    for share in (first, second):
        assert (share["due_on"], share["discharged_at"]) == (None, None)
        assert (share["overdue"], share["may_mark_defaulter_from"]) == (False, None)
    slip = await client.get(f"/v1/settlements/{first['settlement_id']}/slip", headers=h)
    assert slip.status_code == 200, slip.text
    assert "出院结算后起算（中途结算）" in slip.text
    url = f"/v1/receivables/{first['id']}"
    reminder = {"channel": "sms", "sent_at": "2024-03-15T10:00:00+08:00"}
    assert await _refused(client, h, f"{url}/reminders", reminder) == (409, "stay_not_discharged")
    mark = {"reason": "拒不缴费"}
    assert await _refused(client, h, f"{url}/defaulter", mark) == (409, "stay_not_discharged")
    plan = {"instalments": [{"due_on": "2024-05-01", "amount": first["amount_due"]}]}
    assert await _refused(client, h, f"{url}/instalments", plan) == (409, "stay_not_discharged")
    assert (await client.get(url, headers=h)).json()["reminders"] == []
    # today (real time, years later) the stage shares are still not overdue: the stay is open
    listed = (await client.get("/v1/receivables/overdue", headers=h)).json()
    assert {first["id"], second["id"]}.isdisjoint(r["id"] for r in listed["receivables"])
    assert await _overdue_ids(app, date(2024, 6, 1)) == set()
    row = await _hospital_row(app, 2024, date(2024, 6, 1))
    assert (row.overdue_count, row.due, row.not_yet_due_count) == (0, "0.00", 2)
    outstanding = sum(int(s["amount_due"].replace(".", "")) for s in (first, second))
    assert row.not_yet_due_amount == f"{outstanding / 100:.2f}"

    # The HIS reverses the second stage and settles it again: its share is cancelled.
    await _reverse(client, h, second["settlement_id"])
    assert (await _get(client, h, second["id"]))["status"] == "cancelled"
    second = await _share(client, h, visit, "ST2b", "2024-03-21", mid=True)
    assert second["due_on"] is None

    # Discharge: every stage's share falls due 30 days (the policy's) after it.
    final = await _share(client, h, visit, "ST3", "2024-03-30", mid=False)
    for share in (first, second, final):
        got = await _get(client, h, share["id"])
        assert got["due_on"] == "2024-04-29", share
        assert got["discharged_at"] == "2024-03-30T02:00:00Z"
    staged = {first["id"], second["id"], final["id"]}
    assert await _overdue_ids(app, date(2024, 4, 29)) == set()
    assert await _overdue_ids(app, date(2024, 4, 30)) == staged
    before = await _hospital_row(app, 2024, date(2024, 4, 29))
    after = await _hospital_row(app, 2024, date(2024, 4, 30))
    assert (before.overdue_count, before.not_yet_due_count) == (0, 0)
    assert (after.overdue_count, after.not_yet_due_count) == (3, 0)
    assert (
        after.due
        == f"{sum(int(s['amount_due'].replace('.', '')) for s in (first, second, final)) / 100:.2f}"
    )
    # a reminder counts from the discharge, not from the stage
    early = {"channel": "sms", "sent_at": "2024-03-25T10:00:00+08:00"}
    assert await _refused(client, h, f"{url}/reminders", early) == (422, "implausible_date")
    sent = {"channel": "sms", "sent_at": "2024-04-01T10:00:00+08:00"}
    assert (await client.post(f"{url}/reminders", json=sent, headers=h)).status_code == 201

    # years later, past the grace period: the hospital marks the patient on a stage's share
    marked = await client.post(f"{url}/defaulter", json=mark, headers=h)
    assert marked.status_code == 201, marked.text

    # The final settlement is reversed: the stay is open again, its stages not due, and the
    # mark resting on one of them is lifted.
    await _reverse(client, h, final["settlement_id"])
    again = await _get(client, h, first["id"])
    assert (again["due_on"], again["overdue"], again["status"]) == (None, False, "open")
    assert again["defaulter"] is False
    history = (await client.get("/v1/receivables/defaulters", headers=h)).json()
    assert [(m["action"], m["actor"]) for m in history[:2]] == [
        ("unmark", "settlement reversal"),
        ("mark", history[1]["actor"]),
    ]
    assert await _overdue_ids(app, date(2024, 6, 1)) == set()
    assert await _refused(client, h, f"{url}/defaulter", mark) == (409, "stay_not_discharged")
    corrected = await _share(client, h, visit, "ST3b", "2024-04-02", mid=False)
    for share in (first, second, corrected):
        assert (await _get(client, h, share["id"]))["due_on"] == "2024-05-02"


async def test_a_payment_taken_in_the_ward_is_a_payment_demanded_up_front(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    h = hospital_headers
    visit = await _admit(app, 92, (2024, 3, 1))
    stage = await _share(client, h, visit, "ST1", "2024-03-10", mid=True)
    url = f"/v1/receivables/{stage['id']}/payments"

    async def pay(his: str, day: str) -> None:
        body = payment("10.00", his, paid_at=f"{day}T10:00:00+08:00")
        assert (await client.post(url, json=body, headers=h)).status_code == 201

    async def booked() -> list[tuple[str, Any, Any]]:
        async with app.state.sessionmaker() as s:
            rows = (await s.exec(select(Violation).where(Violation.visit_id == visit))).all()
        return [
            (v.rule_code, v.evidence["his_payment_id"], v.evidence["discharged_at"]) for v in rows
        ]

    await pay("P1", "2024-03-12")  # after the stage's end, the patient in the ward
    assert await booked() == [("PREPAYMENT_DEMANDED", "P1", None)]
    await _share(client, h, visit, "ST2", "2024-03-30", mid=False)
    await pay("P2", "2024-03-31")  # after the discharge: what pay-after-treatment asks
    await pay("P3", "2024-03-20")  # recorded late, paid in the ward
    assert (await booked())[1:] == [("PREPAYMENT_DEMANDED", "P3", "2024-03-30T02:00:00+00:00")]


async def test_a_stay_across_new_year_is_owed_in_the_year_of_its_discharge(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    h = hospital_headers
    visit = await _admit(app, 93, (2024, 12, 1))
    stage = await _share(client, h, visit, "ST1", "2024-12-20", mid=True)
    year_end = date(2025, 1, 5)
    assert (await _hospital_row(app, 2024, year_end)).not_yet_due_count == 1
    assert (await _hospital_row(app, 2024, year_end)).due == "0.00"
    final = await _share(client, h, visit, "ST2", "2025-01-10", mid=False)
    assert (await _get(client, h, stage["id"]))["due_on"] == "2025-02-09"
    assert final["due_on"] == "2025-02-09"
    in_2024 = await _hospital_row(app, 2024, date(2025, 2, 10))
    in_2025 = await _hospital_row(app, 2025, date(2025, 2, 10))
    assert in_2024.due == "0.00"
    both = int(stage["amount_due"].replace(".", "")) + int(final["amount_due"].replace(".", ""))
    assert in_2025.due == f"{both / 100:.2f}"
    assert (in_2025.overdue_count, in_2025.not_yet_due_count) == (2, 0)


def _migrate(connection: Connection, step: str, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    getattr(command, step)(cfg, revision)


async def _dates(app: FastAPI, *ids: int) -> list[tuple[date | None, datetime | None]]:
    async with app.state.sessionmaker() as s:
        rows = {r.id: r for r in (await s.exec(select(Receivable))).all()}
    return [(rows[i].due_on, rows[i].discharged_at) for i in ids]


async def test_the_migration_moves_stored_stage_shares_to_their_discharge(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Revision 0016 on rows stored before it: downgrade gives every stage's share the stage's
    own due date (the old rule), upgrade counts it from the active final settlement again, or
    leaves it waiting when the stay is still open."""
    h = hospital_headers
    discharged, open_ = await _admit(app, 94, (2024, 3, 1)), await _admit(app, 95, (2024, 3, 1))
    stage = await _share(client, h, discharged, "ST1", "2024-03-10", mid=True)
    final = await _share(client, h, discharged, "ST2", "2024-03-30", mid=False)
    waiting = await _share(client, h, open_, "ST1", "2024-03-12", mid=True)
    after = await _dates(app, stage["id"], final["id"], waiting["id"])
    out = datetime(2024, 3, 30, 2, tzinfo=UTC)
    assert after == [(date(2024, 4, 29), out), (date(2024, 4, 29), out), (None, None)]
    async with app.state.engine.connect() as conn:
        await conn.run_sync(_migrate, "stamp", "head")
        await conn.run_sync(_migrate, "downgrade", "0015")
        await conn.commit()
    assert (await _dates(app, stage["id"], waiting["id"])) == [
        (date(2024, 4, 9), datetime(2024, 3, 10, 2, tzinfo=UTC)),
        (date(2024, 4, 11), datetime(2024, 3, 12, 2, tzinfo=UTC)),
    ]
    async with app.state.engine.connect() as conn:
        await conn.run_sync(_migrate, "upgrade", "head")
        await conn.commit()
    assert await _dates(app, stage["id"], final["id"], waiting["id"]) == after


async def test_reminders_sent_before_a_corrected_discharge_do_not_count(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """The tester's county: reminders sent on a discharge that was then reversed are history,
    not reminders of the share as the corrected final dates it."""
    h = hospital_headers
    visit = await _admit(app, 96, (2026, 7, 20))
    stage = await _share(client, h, visit, "ST1", "2026-08-01", mid=True)
    first_final = await _share(client, h, visit, "ST2", "2026-08-05", mid=False)
    url = f"/v1/receivables/{stage['id']}"
    for channel, day in (("sms", "2026-09-10"), ("phone", "2026-09-20")):
        sent = {"channel": channel, "sent_at": f"{day}T10:00:00+08:00"}
        assert (await client.post(f"{url}/reminders", json=sent, headers=h)).status_code == 201
    await _reverse(client, h, first_final["settlement_id"])
    await _share(client, h, visit, "ST3", "2026-09-25", mid=False)
    share = await _get(client, h, stage["id"])
    assert (share["due_on"], share["may_mark_defaulter_from"]) == ("2026-10-25", "2026-11-24")
    early = {"channel": "sms", "sent_at": "2026-09-21T10:00:00+08:00"}
    assert await _refused(client, h, f"{url}/reminders", early) == (422, "implausible_date")
    # the two reminders stay in the receivable's history
    assert [r["channel"] for r in share["reminders"]] == ["sms", "phone"]

    marked = await client.post(f"{url}/defaulter", json={"reason": "拒不缴费"}, headers=h)
    assert marked.status_code == 201, marked.text
    assert (marked.json()["reminders_sent"], marked.json()["violation_booked"]) == (
        0,
        "DEFAULTER_WITHOUT_REMINDERS",
    )
    lifted = await client.post(f"{url}/defaulter/removal", json={"reason": "误标"}, headers=h)
    assert (lifted.status_code, lifted.json()["reminders_sent"]) == (201, 0)

    # reminders sent after the corrected discharge count
    for channel, day in (("sms", "2026-09-25"), ("letter", "2026-10-30")):
        sent = {"channel": channel, "sent_at": f"{day}T10:00:00+08:00"}
        assert (await client.post(f"{url}/reminders", json=sent, headers=h)).status_code == 201
    again = await client.post(f"{url}/defaulter", json={"reason": "拒不缴费"}, headers=h)
    assert again.status_code == 201, again.text
    assert (again.json()["reminders_sent"], again.json()["violation_booked"]) == (2, None)


async def _as_of(app: FastAPI, rid: int, day: date) -> dict[str, Any]:
    async with unit_of_work(app.state.sessionmaker) as uow:
        got = await receivables.get(uow, principal=DESK, receivable_id=rid, today=day)
    return got.model_dump(mode="json")


STORY_DAY = "2026-11-30T10:00:00+08:00"


async def test_a_schedule_falls_with_the_discharge_it_was_agreed_on(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    h = hospital_headers
    visit = await _admit(app, 97, (2026, 10, 20))
    stage = await _share(client, h, visit, "ST1", "2026-11-10", mid=True)
    final = await _share(client, h, visit, "ST2", "2026-11-20", mid=False)
    url = f"/v1/receivables/{stage['id']}/instalments"
    cents = int(stage["amount_due"].replace(".", ""))
    halves = [f"{(cents // 2) / 100:.2f}", f"{(cents - cents // 2) / 100:.2f}"]

    def plan(*days: str) -> dict[str, Any]:
        return {
            "instalments": [{"due_on": d, "amount": a} for d, a in zip(days, halves, strict=True)]
        }

    # agreed on 30 November, as the story reads its receivables (`_as_of`): before the dates due
    with factories.clock_at(STORY_DAY):
        agreed = await client.post(url, json=plan("2026-11-25", "2026-12-25"), headers=h)
    assert agreed.status_code == 201, agreed.text

    await _reverse(client, h, final["settlement_id"])
    reopened = await _as_of(app, stage["id"], date(2026, 11, 30))
    assert (reopened["due_on"], reopened["instalments"]) == (None, [])
    assert [i["due_on"] for i in reopened["dropped_instalments"]] == ["2026-11-25", "2026-12-25"]
    assert all(i["dropped_at"] for i in reopened["dropped_instalments"])

    await _share(client, h, visit, "ST3", "2026-11-28", mid=False)
    corrected = await _as_of(app, stage["id"], date(2026, 11, 30))
    assert corrected["due_on"] == "2026-12-28"
    assert (corrected["overdue"], corrected["overdue_since"]) == (False, None)
    assert await _overdue_ids(app, date(2026, 11, 30)) == set()
    # the old dates are before the new discharge; a new schedule is agreed after it
    with factories.clock_at(STORY_DAY):
        stale = await client.post(url, json=plan("2026-11-25", "2026-12-25"), headers=h)
        again = await client.post(url, json=plan("2026-12-28", "2027-01-28"), headers=h)
    assert (stale.status_code, stale.json()["code"]) == (422, "invalid_schedule")
    assert again.status_code == 201, again.text
    now = await _as_of(app, stage["id"], date(2026, 11, 30))
    assert [i["due_on"] for i in now["instalments"]] == ["2026-12-28", "2027-01-28"]
    assert len(now["dropped_instalments"]) == 2
    assert stage["id"] in await _overdue_ids(app, date(2026, 12, 29))


async def test_the_migration_drops_schedules_stored_on_a_reversed_discharge(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Revision 0018 on rows stored before it: a stage's schedule agreed before the active final
    was recorded is dropped; one agreed after it stays in force."""
    h = hospital_headers
    stale_visit, kept_visit = (
        await _admit(app, 98, (2024, 3, 1)),
        await _admit(app, 99, (2024, 3, 1)),
    )
    # settled and scheduled on the day after discharge, before the shares fall due
    with factories.clock_at("2024-03-21T10:00:00+08:00"):
        stale = await _share(client, h, stale_visit, "ST1", "2024-03-10", mid=True)
        first = await _share(client, h, stale_visit, "ST2", "2024-03-20", mid=False)
        kept = await _share(client, h, kept_visit, "ST1", "2024-03-10", mid=True)
        await _share(client, h, kept_visit, "ST2", "2024-03-20", mid=False)
        for share in (stale, kept):
            plan = {"instalments": [{"due_on": "2024-05-01", "amount": share["amount_due"]}]}
            agreed = await client.post(
                f"/v1/receivables/{share['id']}/instalments", json=plan, headers=h
            )
            assert agreed.status_code == 201, agreed.text
    await _reverse(client, h, first["settlement_id"])
    await _share(client, h, stale_visit, "ST3", "2024-03-22", mid=False)
    async with app.state.engine.connect() as conn:  # as a row stored before 0018 was
        await conn.execute(sa.update(table_of(Instalment)).values(dropped_at=None, dropped_by=None))
        await conn.commit()
    assert [len((await _get(client, h, s["id"]))["instalments"]) for s in (stale, kept)] == [1, 1]
    async with app.state.engine.connect() as conn:
        await conn.run_sync(_migrate, "stamp", "head")
        await conn.run_sync(_migrate, "downgrade", "0017")
        await conn.run_sync(_migrate, "upgrade", "head")
        await conn.commit()
    stale_now, kept_now = [await _get(client, h, s["id"]) for s in (stale, kept)]
    assert (stale_now["instalments"], len(stale_now["dropped_instalments"])) == ([], 1)
    assert (len(kept_now["instalments"]), kept_now["dropped_instalments"]) == (1, [])


async def test_a_prepayment_finding_stands_when_a_late_final_dates_the_discharge_before_it(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """ADR 0025 amendment 1: the finding records what the settlements held when the money was
    taken; a discharge date sent afterwards does not withdraw it (rectification contests it)."""
    h = hospital_headers
    visit = await _admit(app, 100, (2026, 10, 20))
    stage = await _share(client, h, visit, "ST1", "2026-11-10", mid=True)
    url = f"/v1/receivables/{stage['id']}/payments"
    body = payment("10.00", "P1", paid_at="2026-11-29T10:00:00+08:00")
    assert (await client.post(url, json=body, headers=h)).status_code == 201
    await _share(client, h, visit, "ST2", "2026-11-20", mid=False)
    later = payment("10.00", "P2", paid_at="2026-11-29T11:00:00+08:00")
    assert (await client.post(url, json=later, headers=h)).status_code == 201
    assert (await _get(client, h, stage["id"]))["discharged_at"] == "2026-11-20T02:00:00Z"
    async with app.state.sessionmaker() as s:
        rows = (await s.exec(select(Violation).where(Violation.visit_id == visit))).all()
    assert [(v.rule_code, v.evidence["his_payment_id"], v.status) for v in rows] == [
        ("PREPAYMENT_DEMANDED", "P1", "open")
    ]
