"""A roster snapshot older than the policy allows confirms nothing (ADR 0011, addendum).

The demo county's successor from 2026-03-01 lets a snapshot confirm cover only while it is at
most 30 days old on the visit day (`controls.pay_after_treatment.snapshot_max_age_days`); the
registry is down (503) throughout, so the snapshot is all there is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from sqlmodel import select

from service.violations.models import Violation
from tests import factories
from tests.factories import (
    county_with_snapshot_limit,
    load_policy,
    person_route,
    roster_person,
    seed_snapshot,
)

LIMIT_DAYS = 30
VISIT_DAY = "2026-03-10"  # factories.admission_request's admission day
LAST_YEAR = datetime(2025, 3, 1, tzinfo=UTC)  # a year before the visit
EXACTLY_THE_LIMIT = datetime(2026, 2, 8, tzinfo=UTC)  # 30 days before the visit
A_DAY_OVER = datetime(2026, 2, 7, tzinfo=UTC)  # 31 days


async def _with_limit(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    return await load_policy(client, admin, county_with_snapshot_limit("2026-03-01", LIMIT_DAYS))


async def _outage_with_snapshot(
    app: FastAPI, registry: respx.MockRouter, id_number: str, taken_at: datetime
) -> None:
    """The person listed in covered category minimum_living, without a family doctor (so a
    snapshot that confirms cover books NO_FAMILY_DOCTOR), and the registry down."""
    listed = roster_person(id_number, "minimum_living", family_doctor_until=None)
    await seed_snapshot(app, listed, taken_at=taken_at)
    person_route(registry, id_number).respond(503)


async def _admit(
    client: httpx.AsyncClient, headers: dict[str, str], id_number: str
) -> dict[str, Any]:
    body = factories.admission_request(id_number=id_number, deposit_intended="800.00")
    response = await client.post("/v1/admissions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _booked(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as session:
        return list((await session.exec(select(Violation.rule_code))).all())


def _assert_too_old(body: dict[str, Any], taken: str) -> None:
    assert body["source"]["kind"] == "unknown"
    assert body["registered"] is None
    assert body["covered"] is None
    assert body["categories"] == []
    assert body["pay_after_treatment"] == {
        "eligible": None,
        "reasons": ["STATUS_UNKNOWN", "SNAPSHOT_TOO_OLD"],
    }
    assert body["source"]["snapshot_taken_at"].startswith(taken)
    assert body["source"]["registry_problem"] is not None
    reason = body["source"]["unknown_reason"]
    assert taken in reason
    assert f"{LIMIT_DAYS} days" in reason
    [unknown] = [w for w in body["warnings"] if w["code"] == "STATUS_UNKNOWN"]
    assert taken in unknown["message"]
    assert "ANSWERED_FROM_SNAPSHOT" not in [w["code"] for w in body["warnings"]]


async def test_a_snapshot_older_than_the_limit_is_unknown_at_admission_and_books_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    policy = await _with_limit(client, admin_headers)
    id_number = factories.resident_id(seq=931)
    await _outage_with_snapshot(app, registry, id_number, LAST_YEAR)
    body = await _admit(client, hospital_headers, id_number)
    _assert_too_old(body, "2025-03-01")
    assert "374 days old" in body["source"]["unknown_reason"]
    assert body["policy"]["content_hash"] == policy["content_hash"]
    assert body["deposit_allowed"] == "0.00"  # deposit_when_unknown: none until confirmed
    assert body["deposit_basis"] == "status_unknown"
    assert "confirmed" in body["deposit_explanation"]
    assert "DEPOSIT_NOT_ALLOWED" not in [w["code"] for w in body["warnings"]]
    assert body["violations"] == []
    assert await _booked(app) == []


async def test_a_snapshot_a_day_over_the_limit_is_unknown(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await _with_limit(client, admin_headers)
    id_number = factories.resident_id(seq=932)
    await _outage_with_snapshot(app, registry, id_number, A_DAY_OVER)
    body = await _admit(client, hospital_headers, id_number)
    _assert_too_old(body, "2026-02-07")
    assert "31 days old" in body["source"]["unknown_reason"]
    assert await _booked(app) == []


@pytest.mark.parametrize("taken_at", [EXACTLY_THE_LIMIT, datetime(2026, 3, 1, tzinfo=UTC)])
async def test_a_snapshot_within_the_limit_confirms_cover_as_before(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    taken_at: datetime,
) -> None:
    await _with_limit(client, admin_headers)
    id_number = factories.resident_id(seq=933)
    await _outage_with_snapshot(app, registry, id_number, taken_at)
    body = await _admit(client, hospital_headers, id_number)
    _assert_confirmed(body, taken_at)
    assert await _booked(app) == ["NO_FAMILY_DOCTOR"]


async def test_without_a_limit_in_the_policy_an_old_snapshot_confirms_as_before(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """The shipped demo policy states no snapshot_max_age_days: no limit."""
    id_number = factories.resident_id(seq=934)
    await _outage_with_snapshot(app, registry, id_number, LAST_YEAR)
    body = await _admit(client, hospital_headers, id_number)
    _assert_confirmed(body, LAST_YEAR)
    assert await _booked(app) == ["NO_FAMILY_DOCTOR"]


def _assert_confirmed(body: dict[str, Any], taken_at: datetime) -> None:
    assert body["source"]["kind"] == "snapshot"
    assert body["source"]["snapshot_taken_at"].startswith(taken_at.date().isoformat())
    assert (body["registered"], body["covered"]) == (True, True)
    assert body["pay_after_treatment"]["eligible"] is True
    assert (body["deposit_allowed"], body["deposit_basis"]) == ("0.00", "eligible")
    assert "pay-after-treatment" in body["deposit_explanation"]
    assert "ANSWERED_FROM_SNAPSHOT" in [w["code"] for w in body["warnings"]]
    assert [v["rule_code"] for v in body["violations"]] == ["NO_FAMILY_DOCTOR"]


async def test_a_too_old_snapshot_leaves_the_reported_county_to_decide(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """Too old to confirm cover, it says nothing at all: its county does not override the
    HIS's either (ADR 0028 lets only a source that knows the person do that)."""
    await _with_limit(client, admin_headers)
    neighbour = await load_policy(
        client,
        admin_headers,
        county_with_snapshot_limit("2026-03-01", LIMIT_DAYS)
        .replace('"990102"', '"990103"')
        .replace("演示县", "邻县"),
    )
    id_number = factories.resident_id(seq=935)
    await _outage_with_snapshot(app, registry, id_number, LAST_YEAR)  # listed in 990102
    request = factories.admission_request(
        id_number=id_number, insured_county=factories.NEIGHBOUR_COUNTY
    )
    response = await client.post("/v1/admissions", json=request, headers=hospital_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    _assert_too_old(body, "2025-03-01")
    assert body["insured_county"] == factories.NEIGHBOUR_COUNTY
    assert body["policy"]["content_hash"] == neighbour["content_hash"]
    assert "INSURED_COUNTY_MISMATCH" not in [w["code"] for w in body["warnings"]]


async def test_person_status_with_a_too_old_snapshot_is_unknown(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    await _with_limit(client, admin_headers)
    id_number = factories.resident_id(seq=936)
    await _outage_with_snapshot(app, registry, id_number, LAST_YEAR)
    response = await client.get(
        f"/v1/persons/{id_number}/status", params={"on": VISIT_DAY}, headers=hospital_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    _assert_too_old(body, "2025-03-01")
    assert body["insured_county"] is None
    assert body["policy"] is None
    assert await _booked(app) == []


async def test_person_status_on_a_day_the_snapshot_was_young_enough_confirms(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """The age is the snapshot's on the day asked about, not today."""
    await _with_limit(client, admin_headers)
    id_number = factories.resident_id(seq=937)
    await _outage_with_snapshot(app, registry, id_number, EXACTLY_THE_LIMIT)
    body = (
        await client.get(
            f"/v1/persons/{id_number}/status", params={"on": VISIT_DAY}, headers=hospital_headers
        )
    ).json()
    assert (body["source"]["kind"], body["covered"]) == ("snapshot", True)
    assert body["pay_after_treatment"]["eligible"] is True
