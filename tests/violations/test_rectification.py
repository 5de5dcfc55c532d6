"""挂账销号: every allowed status change by the role that may take it, every refused one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests import factories as f
from tests.factories import KeyFactory

ALL = ("open", "rectifying", "rectified", "verified")
ALLOWED = {
    ("open", "rectifying"),
    ("rectifying", "rectified"),
    ("rectified", "verified"),
    ("rectified", "rectifying"),
    ("verified", "open"),
}
# The path that brings a fresh violation to each status, taken by an admin.
PATH_TO = {
    "open": [],
    "rectifying": ["rectifying"],
    "rectified": ["rectifying", "rectified"],
    "verified": ["rectifying", "rectified", "verified"],
}


@pytest.fixture
async def violation_id(app: FastAPI) -> int:
    return (await f.book(app.state.sessionmaker, f.finding()))[0]


async def _move(
    client: httpx.AsyncClient, vid: int, headers: dict[str, str], to: str, note: str = "ok"
) -> httpx.Response:
    return await client.post(
        f"/v1/violations/{vid}/transitions",
        json={"to_status": to, "note": note, "evidence_ref": "doc://rectify/1"},
        headers=headers,
    )


async def _bring_to(
    client: httpx.AsyncClient, vid: int, admin: dict[str, str], status: str
) -> None:
    for to in PATH_TO[status]:
        assert (await _move(client, vid, admin, to)).status_code == 201


async def test_the_full_cycle_by_the_roles_that_own_each_step(
    client: httpx.AsyncClient,
    violation_id: int,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    steps: list[tuple[dict[str, str], str, str]] = [
        (hospital_headers, "rectifying", "整改中"),
        (hospital_headers, "rectified", "已退还押金"),
        (auditor_headers, "rectifying", "凭证不全，退回"),
        (hospital_headers, "rectified", "补齐凭证"),
        (auditor_headers, "verified", "核验通过"),
        (auditor_headers, "open", "复查发现仍收押金"),
    ]
    for headers, to, note in steps:
        response = await _move(client, violation_id, headers, to, note)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == to
    body = (await client.get(f"/v1/violations/{violation_id}", headers=auditor_headers)).json()
    history = [(t["from_status"], t["to_status"], t["note"]) for t in body["transitions"]]
    assert history == [
        ("open", "rectifying", "整改中"),
        ("rectifying", "rectified", "已退还押金"),
        ("rectified", "rectifying", "凭证不全，退回"),
        ("rectifying", "rectified", "补齐凭证"),
        ("rectified", "verified", "核验通过"),
        ("verified", "open", "复查发现仍收押金"),
    ]
    assert body["transitions"][0]["actor"].startswith("hospital:H990102002#")
    assert body["transitions"][4]["actor"].startswith("auditor:99#")
    assert body["transitions"][0]["evidence_ref"] == "doc://rectify/1"
    assert [t["chain_seq"] for t in body["transitions"]] == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(("frm", "to"), [(a, b) for a in ALL for b in ALL if (a, b) not in ALLOWED])
async def test_every_other_change_is_409_naming_both_statuses(
    client: httpx.AsyncClient,
    violation_id: int,
    admin_headers: dict[str, str],
    frm: str,
    to: str,
) -> None:
    await _bring_to(client, violation_id, admin_headers, frm)
    # another note than the step that brought it here: not that step's retry (a replay)
    response = await _move(client, violation_id, admin_headers, to, note="once more")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert f"from {frm} to {to}" in body["detail"]
    detail = (await client.get(f"/v1/violations/{violation_id}", headers=admin_headers)).json()
    assert detail["status"] == frm


async def test_a_retried_change_is_answered_as_a_replay_and_chained_once(
    client: httpx.AsyncClient,
    violation_id: int,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    """A HIS that timed out and sends its change again is told it was done (ADR 0030), not
    refused; the ledger holds the change once."""
    first = await _move(client, violation_id, hospital_headers, "rectifying", "整改中")
    again = await _move(client, violation_id, hospital_headers, "rectifying", "整改中")
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert [t["to_status"] for t in again.json()["transitions"]] == ["rectifying"]
    # Not the same change: another note, or another caller's, is still refused.
    other_note = await _move(client, violation_id, hospital_headers, "rectifying", "再次整改")
    assert other_note.status_code == 409
    assert other_note.json()["code"] == "invalid_transition"


async def test_a_change_made_before_a_send_back_is_no_replay_after_it(
    client: httpx.AsyncClient,
    violation_id: int,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    """The status is where the hospital once took it, but the auditor took it there last:
    the hospital's old request sent again is refused, not answered as if it were the last."""
    assert (
        await _move(client, violation_id, hospital_headers, "rectifying", "整改中")
    ).status_code == 201
    assert (
        await _move(client, violation_id, hospital_headers, "rectified", "已退还")
    ).status_code == 201
    sent_back = await _move(client, violation_id, auditor_headers, "rectifying", "凭证不全")
    assert sent_back.status_code == 201
    stale = await _move(client, violation_id, hospital_headers, "rectifying", "整改中")
    assert stale.status_code == 409
    detail = (await client.get(f"/v1/violations/{violation_id}", headers=auditor_headers)).json()
    assert len(detail["transitions"]) == 3


@pytest.mark.parametrize(
    ("frm", "to", "role"),
    [
        ("open", "rectifying", "auditor"),
        ("rectifying", "rectified", "auditor"),
        ("rectified", "verified", "hospital"),
        ("rectified", "rectifying", "hospital"),
        ("verified", "open", "hospital"),
    ],
)
async def test_the_wrong_role_is_403(
    client: httpx.AsyncClient,
    violation_id: int,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    frm: str,
    to: str,
    role: str,
) -> None:
    await _bring_to(client, violation_id, admin_headers, frm)
    headers = auditor_headers if role == "auditor" else hospital_headers
    response = await _move(client, violation_id, headers, to)
    assert response.status_code == 403
    assert response.json()["code"] == "transition_forbidden"


async def test_another_hospital_gets_404(
    client: httpx.AsyncClient, violation_id: int, other_hospital_headers: dict[str, str]
) -> None:
    response = await _move(client, violation_id, other_hospital_headers, "rectifying")
    assert response.status_code == 404


async def test_an_auditor_outside_the_region_gets_404(
    client: httpx.AsyncClient,
    violation_id: int,
    admin_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    await _bring_to(client, violation_id, admin_headers, "rectified")
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    assert (await _move(client, violation_id, neighbour, "verified")).status_code == 404


@pytest.mark.parametrize(("frm", "to"), [("rectified", "rectifying"), ("verified", "open")])
async def test_rejecting_and_reopening_need_a_reason(
    client: httpx.AsyncClient,
    violation_id: int,
    admin_headers: dict[str, str],
    auditor_headers: dict[str, str],
    frm: str,
    to: str,
) -> None:
    await _bring_to(client, violation_id, admin_headers, frm)
    response = await _move(client, violation_id, auditor_headers, to, note="   ")
    assert response.status_code == 422
    assert response.json()["code"] == "note_required"


@pytest.mark.parametrize(
    "body",
    [
        {"to_status": "closed"},
        {"to_status": "rectifying", "status": "verified"},
        {"to_status": "rectifying", "note": "x" * 2001},
        {},
    ],
)
async def test_bad_bodies_are_422(
    client: httpx.AsyncClient,
    violation_id: int,
    hospital_headers: dict[str, str],
    body: dict[str, Any],
) -> None:
    response = await client.post(
        f"/v1/violations/{violation_id}/transitions", json=body, headers=hospital_headers
    )
    assert response.status_code == 422


async def test_the_detail_lists_what_the_caller_may_do(
    client: httpx.AsyncClient,
    violation_id: int,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    url = f"/v1/violations/{violation_id}"
    assert (await client.get(url, headers=hospital_headers)).json()["allowed_transitions"] == [
        "rectifying"
    ]
    assert (await client.get(url, headers=auditor_headers)).json()["allowed_transitions"] == []
    await _bring_to(client, violation_id, admin_headers, "rectified")
    allowed = (await client.get(url, headers=auditor_headers)).json()["allowed_transitions"]
    assert sorted(allowed) == ["rectifying", "verified"]
