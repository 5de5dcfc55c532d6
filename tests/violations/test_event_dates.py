"""Periods by the event's date (ADR 0018): a finding keeps the time it was booked and the date
of the deposit, admission or discharge it is about; filters, the scoreboard and indicators count
by the latter. Rows booked before the column existed take their booked date, hashes unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from alembic import command
from service.migrations import alembic_config
from service.violations.content import record_hash
from service.violations.models import Violation
from tests import factories as f

BOOKED_IN_JANUARY = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)


async def _book_december_discharge(app: FastAPI) -> int:
    late = f.finding(
        source="settlement", detected_at=BOOKED_IN_JANUARY, event_on=date(2024, 12, 28)
    )
    (violation_id,) = await f.book(app.state.sessionmaker, late)
    return violation_id


async def _get(client: httpx.AsyncClient, headers: dict[str, str], url: str, **params: Any) -> Any:
    answer = await client.get(url, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_december_discharge_settled_in_january_counts_in_december(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    violation_id = await _book_december_discharge(app)
    december = {"detected_from": "2024-12-01", "detected_to": "2024-12-31"}
    january = {"detected_from": "2025-01-01", "detected_to": "2025-01-31"}
    found = await _get(client, auditor_headers, "/v1/violations", **december)
    assert [v["id"] for v in found["items"]] == [violation_id]
    assert found["items"][0]["event_on"] == "2024-12-28"
    assert found["items"][0]["detected_at"].startswith("2025-01-06")
    assert (await _get(client, auditor_headers, "/v1/violations", **january))["items"] == []

    period = {"from": "2024-12-01", "to": "2024-12-31"}
    board = await _get(client, auditor_headers, "/v1/violations/scoreboard", **period)
    assert board["total_count"] == 1
    empty = {"from": "2025-01-01", "to": "2025-01-31"}
    assert (await _get(client, auditor_headers, "/v1/violations/scoreboard", **empty))[
        "total_count"
    ] == 0
    shown = await _get(client, auditor_headers, "/v1/indicators", region="99", **period)
    assert shown["problems"]["open"] == 1


async def test_the_event_date_is_in_the_chained_evidence_and_the_chain_verifies(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    violation_id = await _book_december_discharge(app)
    async with app.state.sessionmaker() as session:
        row = await session.get(Violation, violation_id)
    assert row is not None
    assert row.evidence["event_on"] == "2024-12-28"
    assert row.entry_hash == record_hash(row)
    verified = await _get(client, auditor_headers, "/v1/violations/verify")
    assert verified["intact"] is True


async def test_a_finding_without_an_event_date_takes_its_booked_date(app: FastAPI) -> None:
    (violation_id,) = await f.book(app.state.sessionmaker, f.finding(detected_at=BOOKED_IN_JANUARY))
    async with app.state.sessionmaker() as session:
        row = await session.get(Violation, violation_id)
    assert row is not None
    assert row.event_on == date(2025, 1, 6)
    assert "event_on" not in row.evidence


def test_the_migration_copies_the_booked_china_date_and_keeps_every_hash(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0011")
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    row = {
        "chain": "990102",
        "chain_seq": 1,
        "prev_hash": "0" * 64,
        "entry_hash": "e" * 64,
        "rule_code": "DEPOSIT_CHARGED",
        "severity": "high",
        "hospital_code": "H990102002",
        "county_code": "990102",
        "source": "deposit",
        "evidence": "{}",
        "points_hundredths": 20,
        "status": "open",
        # 20:00 UTC on 31 January is 1 February in China
        "detected_at": "2026-01-31 20:00:00.000000",
        "status_changed_at": "2026-01-31 20:00:00.000000",
    }
    try:
        with engine.begin() as conn:
            columns = ", ".join(row)
            values = ", ".join(f":{k}" for k in row)
            conn.execute(sa.text(f"INSERT INTO violations ({columns}) VALUES ({values})"), row)
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            migrated = conn.execute(sa.text("SELECT event_on, entry_hash FROM violations")).one()
    finally:
        engine.dispose()
    assert tuple(migrated) == ("2026-02-01", "e" * 64)
