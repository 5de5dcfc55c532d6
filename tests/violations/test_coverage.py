"""Every column a reader relies on is covered by the chain or derived from what is (issue 11,
items 10 and 11; ADR 0013): tampering with any one column of the ledger's tables, ids included,
makes verify say BROKEN and name the record."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from service.violations.models import transitions_table, violations_table
from tests import factories as f
from tests.violations.ledger_tampering import changed, swap_ids, update_record

# The ledger of these tests, county 990102 (990103 holds one more violation, untouched):
#   seq 1 violation A, seq 2 violation B, seq 3 A → rectifying, seq 4 B → rectifying,
#   seq 5 A → rectified.
VIOLATION_TARGET, TRANSITION_TARGET = 2, 4
# A record's own hash or link breaks at the record itself.
LINKS = {"prev_hash": "prev_hash mismatch", "entry_hash": "hash mismatch"}
# Moving a record out of its place leaves a gap the walk meets at the next seq.
PLACE = ("chain", "chain_seq")
DERIVED = ("status", "status_changed_at")


@pytest.fixture
async def ledger(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> dict[str, int]:
    a, b = await f.book(app.state.sessionmaker, f.finding(visit_id="A"), f.finding(visit_id="B"))
    for vid, to in ((a, "rectifying"), (b, "rectifying"), (a, "rectified")):
        r = await client.post(
            f"/v1/violations/{vid}/transitions",
            json={"to_status": to, "note": "整改", "evidence_ref": "doc://1"},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
    await f.book(
        app.state.sessionmaker,
        f.finding(county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL),
    )
    return {"A": a, "B": b}


async def _verify(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    response = await client.get("/v1/violations/verify", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_column_of_the_ledger_tables_has_a_cover() -> None:
    """A column added later must be classified (hashed, link, derived) before it ships."""
    from service.violations import content

    assert set(content.VIOLATION_COVER) == set(violations_table.c.keys())
    assert set(content.TRANSITION_COVER) == set(transitions_table.c.keys())


async def _tamper(app: FastAPI, table: sa.Table, column: str, seq: int) -> None:
    if column == "id":
        await swap_ids(app, table, "990102", seq, seq - 1)
    elif column == "chain":
        await update_record(app, table, "990102", seq, chain="990109")
    elif column == "chain_seq":
        await update_record(app, table, "990102", seq, chain_seq=seq + 100)
    elif column == "violation_id":  # B's transition now reads as A's
        await update_record(app, table, "990102", seq, change={column: lambda i: i - 1})
    elif column == "status":
        await update_record(app, table, "990102", seq, status="verified")
    else:
        await update_record(app, table, "990102", seq, change={column: changed})


def _expect(column: str, seq: int) -> tuple[set[int], str]:
    """The seqs verify may name, and a fragment of its reason."""
    if column == "id":
        return {seq - 1}, "hash mismatch"
    if column in PLACE:
        return {seq + 1}, f"gap in seq: expected {seq}"
    if column == "event_on":
        return {seq}, "event date disagrees"
    if column in DERIVED:
        return {seq}, "status projection"
    return {seq}, LINKS.get(column, "hash mismatch")


@pytest.mark.parametrize(
    ("table", "column"),
    [("violations", c) for c in violations_table.c.keys()]
    + [("violation_transitions", c) for c in transitions_table.c.keys()],
)
async def test_tampering_with_any_column_is_found(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: dict[str, int],
    table: str,
    column: str,
) -> None:
    assert (await _verify(client, auditor_headers))["intact"] is True
    is_violation = table == "violations"
    seq = VIOLATION_TARGET if is_violation else TRANSITION_TARGET
    await _tamper(app, violations_table if is_violation else transitions_table, column, seq)
    body = await _verify(client, auditor_headers)
    assert body["intact"] is False, f"{table}.{column} edited and verify says intact"
    broken = body["first_broken"]
    seqs, reason = _expect(column, seq)
    assert broken["chain"] == "990102"
    assert broken["seq"] in seqs, broken
    assert reason in broken["reason"]
    assert broken["id"] is not None
    neighbour = next(c for c in body["chains"] if c["chain"] == "990103")
    assert neighbour["intact"] is True


async def test_a_back_dated_rectification_is_found(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: dict[str, int]
) -> None:
    """Item 10: `status_changed_at = status_changed_at - interval '30 days'` on a rectified one."""
    await update_record(app, violations_table, "990102", 1, change={"status_changed_at": changed})
    broken = (await _verify(client, auditor_headers))["first_broken"]
    assert (broken["seq"], broken["kind"], broken["id"]) == (1, "violation", ledger["A"])
    assert "status_changed_at" in broken["reason"]


async def test_swapped_ids_and_statuses_are_found(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: dict[str, int]
) -> None:
    """Item 11: A's history now reads as B's, and every status agrees with its history."""
    await swap_ids(app, violations_table, "990102", 1, 2, with_status=True)
    body = await _verify(client, auditor_headers)
    assert body["intact"] is False
    assert body["first_broken"]["seq"] == 1
    assert body["first_broken"]["id"] == ledger["B"]


@pytest.fixture
async def live_county(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """A county whose ledger was written before ids were hashed (format 1): two violations, one
    rectified, its head exported; then the upgrade, and one more violation in format 2."""
    from service.violations import content, ledger

    with monkeypatch.context() as m:
        m.setattr(ledger, "record_hash", lambda r: content.record_hash(r, content.LEGACY_FORMAT))
        ids = await f.book(app.state.sessionmaker, f.finding(visit_id="A"), f.finding(visit_id="B"))
        r = await client.post(
            f"/v1/violations/{ids[0]}/transitions",
            json={"to_status": "rectifying"},
            headers=admin_headers,
        )
        assert r.status_code == 201
        heads = (await client.get("/v1/violations/chain-heads", headers=admin_headers)).json()
    ids += await f.book(app.state.sessionmaker, f.finding(visit_id="C"))
    return {"ids": ids, "heads": heads}


async def test_a_live_ledger_in_the_old_format_still_verifies_against_its_export(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], live_county: dict[str, Any]
) -> None:
    response = await client.post(
        "/v1/violations/verify", json=live_county["heads"], headers=auditor_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intact"] is True, body["first_broken"]
    chain = next(c for c in body["chains"] if c["chain"] == "990102")
    assert (chain["records"], chain["legacy_records"]) == (4, 3)


async def test_swapped_ids_of_old_format_records_are_found_by_their_order(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    live_county: dict[str, Any],
) -> None:
    await swap_ids(app, violations_table, "990102", 1, 2, with_status=True)
    broken = (await _verify(client, auditor_headers))["first_broken"]
    assert (broken["seq"], broken["kind"]) == (2, "violation")
    assert "out of order" in broken["reason"]


async def test_an_old_format_record_after_a_new_one_is_found(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    live_county: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A record hashed without its id after the chain moved on is a rewrite, not history."""
    from service.violations import content, ledger

    monkeypatch.setattr(
        ledger, "record_hash", lambda r: content.record_hash(r, content.LEGACY_FORMAT)
    )
    await f.book(app.state.sessionmaker, f.finding(visit_id="D"))
    broken = (await _verify(client, auditor_headers))["first_broken"]
    assert (broken["seq"], broken["kind"]) == (5, "violation")
    assert "format 1 after a format-2 record" in broken["reason"]
