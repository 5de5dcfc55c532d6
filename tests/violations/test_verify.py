"""Tamper evidence: an intact ledger verifies; an edit, deletion, reordering, insertion or
truncation made behind the service's back is named at the record where it happened."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from service.auth import Principal, Role
from service.violations import verify as verify_module
from service.violations.schemas import ChainHeadPublic
from service.violations.verify import verify_ledger
from tests import factories as f
from tests.factories import KeyFactory

ADMIN = Principal(key_id=0, role=Role.ADMIN)


@pytest.fixture
async def ledger(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> list[int]:
    """County 990102: violations at seq 1, 2, 4; transitions at seq 3, 5 (on the first).
    County 990103: one violation."""
    maker = app.state.sessionmaker
    ids = await f.book(maker, f.finding(visit_id="V1"), f.finding(visit_id="V2"))
    for to in ("rectifying",):
        r = await client.post(
            f"/v1/violations/{ids[0]}/transitions", json={"to_status": to}, headers=admin_headers
        )
        assert r.status_code == 201
    ids += await f.book(maker, f.finding(visit_id="V3"))
    r = await client.post(
        f"/v1/violations/{ids[0]}/transitions",
        json={"to_status": "rectified"},
        headers=admin_headers,
    )
    assert r.status_code == 201
    ids += await f.book(
        maker,
        f.finding(
            visit_id="N1", county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )
    return ids


async def _sql(app: FastAPI, statement: str, **params: Any) -> None:
    async with app.state.engine.begin() as conn:
        await conn.execute(sa.text(statement), params)


async def _verify(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    response = await client.get("/v1/violations/verify", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_intact_ledger_verifies(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    body = await _verify(client, auditor_headers)
    assert body["intact"] is True
    assert body["first_broken"] is None
    assert body["chains_checked"] == 2
    assert body["records_checked"] == 6


TAMPERINGS: dict[str, tuple[str, dict[str, Any], int, str, str]] = {
    # name: (SQL, params, broken seq, kind, reason fragment)
    "edited points": (
        "UPDATE violations SET points_hundredths = 0 WHERE chain = '990102' AND chain_seq = 2",
        {},
        2,
        "violation",
        "hash mismatch",
    ),
    "edited evidence": (
        "UPDATE violations SET evidence = '{\"deposit_taken_fen\": 1}' "
        "WHERE chain = '990102' AND chain_seq = 4",
        {},
        4,
        "violation",
        "hash mismatch",
    ),
    "edited transition note": (
        "UPDATE violation_transitions SET note = 'rewritten' "
        "WHERE chain = '990102' AND chain_seq = 3",
        {},
        3,
        "transition",
        "hash mismatch",
    ),
    "deleted transition": (
        "DELETE FROM violation_transitions WHERE chain = '990102' AND chain_seq = 3",
        {},
        4,
        "violation",
        "gap in seq",
    ),
    "reordered": (
        # Swap seq 2 and 4 (in three steps: the unique constraint is checked per row).
        "UPDATE violations SET chain_seq = -2 WHERE chain = '990102' AND chain_seq = 2;"
        "UPDATE violations SET chain_seq = 2 WHERE chain = '990102' AND chain_seq = 4;"
        "UPDATE violations SET chain_seq = 4 WHERE chain = '990102' AND chain_seq = -2",
        {},
        2,
        "violation",
        "prev_hash mismatch",
    ),
    "status projection": (
        "UPDATE violations SET status = 'verified' WHERE chain = '990102' AND chain_seq = 1",
        {},
        1,
        "violation",
        "status projection",
    ),
    "deleted tail": (
        "DELETE FROM violation_transitions WHERE chain = '990102' AND chain_seq = 5",
        {},
        5,
        "head",
        "chain head disagrees",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
async def test_tampering_is_found_at_the_record(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    name: str,
) -> None:
    statement, params, seq, kind, reason = TAMPERINGS[name]
    for one in statement.split(";"):
        await _sql(app, one, **params)
    body = await _verify(client, auditor_headers)
    assert body["intact"] is False
    broken = body["first_broken"]
    assert (broken["chain"], broken["seq"], broken["kind"]) == ("990102", seq, kind)
    assert reason in broken["reason"]
    neighbour = next(c for c in body["chains"] if c["chain"] == "990103")
    assert neighbour["intact"] is True


async def test_an_inserted_record_breaks_the_next_link(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    # Shift the tail up by one and slip a forged violation in at seq 2 with a made-up hash.
    await _sql(
        app,
        "UPDATE violation_transitions SET chain_seq = chain_seq + 10 WHERE chain = '990102'",
    )
    await _sql(
        app,
        "UPDATE violations SET chain_seq = chain_seq + 10 WHERE chain = '990102' AND chain_seq > 1",
    )
    await _sql(
        app,
        "INSERT INTO violations (chain, chain_seq, prev_hash, entry_hash, rule_code, severity, "
        "hospital_code, county_code, source, evidence, points_hundredths, detected_at, event_on, "
        "status, status_changed_at) SELECT chain, 2, entry_hash, :h, rule_code, severity, "
        "hospital_code, county_code, source, evidence, 0, detected_at, event_on, 'open', "
        "status_changed_at FROM violations "
        "WHERE chain = '990102' AND chain_seq = 1",
        h="f" * 64,
    )
    body = await _verify(client, auditor_headers)
    assert (body["first_broken"]["seq"], body["first_broken"]["reason"][:13]) == (
        2,
        "hash mismatch",
    )


async def test_truncation_with_a_rewritten_head_is_caught_by_an_exported_head(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
) -> None:
    exported = (await client.get("/v1/violations/chain-heads", headers=auditor_headers)).json()
    heads = {h["chain"]: h for h in exported["heads"]}
    assert heads["990102"]["seq"] == 5
    assert heads["990103"]["seq"] == 1
    await _cut_tail_and_rewrite_head(app, ledger[0])
    assert (await _verify(client, auditor_headers))["intact"] is True
    async with app.state.sessionmaker() as session:
        report = await verify_ledger(
            session,
            principal=ADMIN,
            exported=[ChainHeadPublic(**h) for h in exported["heads"]],
        )
    assert report.intact is False
    assert report.first_broken is not None
    assert report.first_broken.kind == "head"
    assert "truncated" in report.first_broken.reason


async def test_verify_and_heads_stay_in_scope(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    hospital_headers: dict[str, str],
    ledger: list[int],
) -> None:
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    body = await _verify(client, neighbour)
    assert [c["chain"] for c in body["chains"]] == ["990103"]
    heads = (await client.get("/v1/violations/chain-heads", headers=neighbour)).json()
    assert [h["chain"] for h in heads["heads"]] == ["990103"]
    assert (await client.get("/v1/violations/verify", headers=hospital_headers)).status_code == 403


async def test_several_violations_rectified_some_twice_verify_intact(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """Issue 11 item 9: the projection check compared each violation with the newest transition
    of the whole chain, so any two violations with transitions read as BROKEN."""
    ids = await f.book(app.state.sessionmaker, *(f.finding(visit_id=f"R{i}") for i in range(4)))
    moves = {
        ids[0]: ["rectifying", "rectified", "verified"],
        ids[1]: ["rectifying"],
        # A second rectification: sent back, rectified again, verified, reopened, rectified.
        ids[2]: ["rectifying", "rectified", "rectifying", "rectified", "verified", "open"],
    }
    for step in range(max(len(m) for m in moves.values())):
        for vid, path in moves.items():
            if step < len(path):
                r = await client.post(
                    f"/v1/violations/{vid}/transitions",
                    json={"to_status": path[step], "note": "复核"},
                    headers=admin_headers,
                )
                assert r.status_code == 201, r.text
        body = await _verify(client, auditor_headers)
        assert body["intact"] is True, body["first_broken"]
    assert body["records_checked"] == 4 + sum(len(m) for m in moves.values())


async def _cut_tail_and_rewrite_head(app: FastAPI, violation_id: int) -> None:
    """Cut the tail and make the head agree, and the projection (the status and time of the
    transition now latest), so the chain alone looks intact."""
    await _sql(app, "DELETE FROM violation_transitions WHERE chain = '990102' AND chain_seq = 5")
    await _sql(
        app,
        "UPDATE ledger_heads SET seq = 4, head_hash = (SELECT entry_hash FROM violations "
        "WHERE chain = '990102' AND chain_seq = 4) WHERE chain = '990102'",
    )
    await _sql(
        app,
        "UPDATE violations SET status = 'rectifying', status_changed_at = (SELECT at FROM "
        "violation_transitions WHERE chain = '990102' AND chain_seq = 3) WHERE id = :i",
        i=violation_id,
    )


async def _delete_chain(app: FastAPI, chain: str) -> None:
    await _sql(app, "DELETE FROM violation_transitions WHERE chain = :c", c=chain)
    await _sql(app, "DELETE FROM violations WHERE chain = :c", c=chain)
    await _sql(app, "DELETE FROM ledger_heads WHERE chain = :c", c=chain)


async def _verify_against(
    client: httpx.AsyncClient, headers: dict[str, str], heads: Any
) -> httpx.Response:
    return await client.post("/v1/violations/verify", json=heads, headers=headers)


async def test_the_api_catches_a_cut_tail_against_uploaded_heads(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    """Issue 11 item 12: GET alone cannot see it; POST with the exported document can."""
    exported = (await client.get("/v1/violations/chain-heads", headers=auditor_headers)).json()
    assert (await _verify_against(client, auditor_headers, exported)).json()["intact"] is True
    await _cut_tail_and_rewrite_head(app, ledger[0])
    assert (await _verify(client, auditor_headers))["intact"] is True
    response = await _verify_against(client, auditor_headers, exported)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intact"] is False
    assert body["heads_checked"] == 2
    assert (body["first_broken"]["chain"], body["first_broken"]["kind"]) == ("990102", "head")
    assert "truncated" in body["first_broken"]["reason"]


async def test_the_api_catches_a_deleted_county_chain_against_uploaded_heads(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    exported = (await client.get("/v1/violations/chain-heads", headers=auditor_headers)).json()
    await _delete_chain(app, "990103")
    assert (await _verify(client, auditor_headers))["intact"] is True
    body = (await _verify_against(client, auditor_headers, exported)).json()
    assert body["intact"] is False
    assert body["first_broken"]["chain"] == "990103"
    assert "is gone" in body["first_broken"]["reason"]


async def test_uploaded_heads_outside_the_auditors_region_are_set_aside(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    ledger: list[int],
) -> None:
    exported = (await client.get("/v1/violations/chain-heads", headers=admin_headers)).json()
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    await _delete_chain(app, "990102")  # outside this auditor's region: not theirs to judge
    body = (await _verify_against(client, neighbour, exported)).json()
    assert body["intact"] is True
    assert body["heads_outside_scope"] == ["990102"]
    assert [c["chain"] for c in body["chains"]] == ["990103"]
    denied = await _verify_against(client, hospital_headers, exported)
    assert denied.status_code == 403


@pytest.mark.parametrize(
    ("heads", "field"),
    [
        ({"heads": [{"chain": "990102", "seq": 1, "head_hash": "zz"}]}, "heads.0.head_hash"),
        ({"heads": [{"chain": "990102", "seq": -1, "head_hash": "0" * 64}]}, "heads.0.seq"),
        ({"heads": [{"chain": "99 01", "seq": 1, "head_hash": "0" * 64}]}, "heads.0.chain"),
        ({"heads": [{"chain": "990102", "seq": 1, "head_hash": "0" * 64}] * 2}, "heads"),
        ({"heads": [], "extra": 1}, "extra"),
    ],
)
async def test_a_bad_heads_document_is_a_422_naming_the_field(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], heads: Any, field: str
) -> None:
    response = await _verify_against(client, auditor_headers, heads)
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(name.endswith(field) for name in fields), fields


async def test_a_forged_status_moved_on_by_the_service_is_caught_at_the_transition(
    app: FastAPI,
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """Found by the ledger machine: edit an open violation's status to 'verified' in SQL, then
    let the service reopen it. The new transition (verified → open) is hashed and the projection
    agrees with it, so only the transition's from_status against the violation's history shows
    the forgery."""
    (vid,) = await f.book(app.state.sessionmaker, f.finding(visit_id="F1"))
    await _sql(app, "UPDATE violations SET status = 'verified' WHERE id = :id", id=vid)
    forged = await _verify(client, auditor_headers)
    assert forged["first_broken"]["kind"] == "violation"  # the projection, before any move
    r = await client.post(
        f"/v1/violations/{vid}/transitions",
        json={"to_status": "open", "note": "重新挂账"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    body = await _verify(client, auditor_headers)
    assert body["intact"] is False
    broken = body["first_broken"]
    assert (broken["kind"], broken["seq"], broken["id"]) == ("transition", 2, r.json()["id"])
    assert "from_status 'verified'" in broken["reason"]


@pytest.mark.postgres
async def test_a_finding_booked_while_verify_reads_the_chain_is_no_break(
    app: FastAPI, ledger: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hospitals book findings while an auditor verifies: a booking committed after verify read
    the chain heads is outside what it verifies, not a chain whose head disagrees with its last
    record (PostgreSQL's READ COMMITTED would show each statement newer rows)."""
    maker = app.state.sessionmaker
    real = verify_module._last_seq
    booked: list[int] = []

    async def booking_meanwhile(session: Any, chain: str) -> int:
        if not booked:
            booked.extend(await f.book(maker, f.finding(visit_id="V9")))
        return await real(session, chain)

    monkeypatch.setattr(verify_module, "_last_seq", booking_meanwhile)
    async with maker() as session:
        report = await verify_ledger(session, principal=ADMIN)
    assert booked
    assert report.first_broken is None
    assert report.intact is True
    assert report.records_checked == 6
