"""An admission cannot be reversed while it has an active settlement, race included: reversing
the admission would drop it (and any deposit it took) from the indicators while the money stays
settled."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import respx
import sqlalchemy as sa
from fastapi import FastAPI

from tests import factories
from tests.factories import settle, settlement_request

REASON = {"reason": "registration cancelled at the desk"}
PATIENT = factories.resident_id(seq=88)


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url="http://registry.test", assert_all_called=True) as router:
        router.get(f"/v1/persons/{PATIENT}").respond(200, json=factories.registry_person())
        yield router


async def _admit(client: httpx.AsyncClient, headers: dict[str, str], visit_id: str) -> str:
    """Admitted through the API, as the HIS does (the stored answer is what a reversal shows)."""
    payload = factories.admission_request(
        visit_id=visit_id, id_number=PATIENT, admitted_at="2024-03-01T08:00:00+08:00"
    )
    response = await client.post("/v1/admissions", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return visit_id


async def _reverse_admission(
    client: httpx.AsyncClient, headers: dict[str, str], visit_id: str
) -> httpx.Response:
    return await client.post(f"/v1/admissions/{visit_id}/reversal", json=REASON, headers=headers)


async def test_a_settled_admission_cannot_be_reversed(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    visit_id = await _admit(client, hospital_headers, "V-1")
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    refused = await _reverse_admission(client, hospital_headers, visit_id)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "admission_settled"
    assert str(settled["id"]) in problem["detail"]
    detail = await client.get(f"/v1/admissions/{visit_id}", headers=hospital_headers)
    assert detail.json()["state"] == "admitted"


async def test_once_its_settlement_is_reversed_the_admission_can_be(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    visit_id = await _admit(client, hospital_headers, "V-1")
    settled = await settle(client, hospital_headers, settlement_request(visit_id))
    undone = await client.post(
        f"/v1/settlements/{settled['id']}/reversal", json=REASON, headers=hospital_headers
    )
    assert undone.status_code == 201, undone.text
    reversed_ = await _reverse_admission(client, hospital_headers, visit_id)
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["state"] == "reversed"


async def test_a_stage_still_settled_holds_the_admission_after_a_later_stage_is_reversed(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    """Found by the orchestration machine: two stages (中途结算), the second reversed; the first
    is still settled, so the admission must still refuse its reversal (only the latest
    settlement was looked at)."""
    visit_id = await _admit(client, hospital_headers, "V-3")
    first = await settle(
        client,
        hospital_headers,
        settlement_request(visit_id, "S1", mid_settlement=True),
    )
    second = await settle(
        client,
        hospital_headers,
        settlement_request(
            visit_id, "S2", mid_settlement=True, discharged_at="2024-03-11T10:00:00+08:00"
        ),
    )
    assert second["stage"] == 2
    undone = await client.post(
        f"/v1/settlements/{second['id']}/reversal", json=REASON, headers=hospital_headers
    )
    assert undone.status_code == 201, undone.text
    refused = await _reverse_admission(client, hospital_headers, visit_id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "admission_settled"
    assert str(first["id"]) in refused.json()["detail"]
    detail = await client.get(f"/v1/admissions/{visit_id}", headers=hospital_headers)
    assert detail.json()["state"] == "admitted"


async def test_the_admission_resent_after_its_reversal_is_refused_not_replayed_as_admitted(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    visit_id = await _admit(client, hospital_headers, "V-2")
    reversed_ = await _reverse_admission(client, hospital_headers, visit_id)
    assert reversed_.status_code == 200, reversed_.text
    payload = factories.admission_request(
        visit_id=visit_id, id_number=PATIENT, admitted_at="2024-03-01T08:00:00+08:00"
    )

    resent = await client.post("/v1/admissions", json=payload, headers=hospital_headers)

    assert resent.status_code == 409, resent.text
    assert resent.json()["code"] == "admission_reversed"
    assert "Idempotent-Replayed" not in resent.headers
    detail = await client.get(f"/v1/admissions/{visit_id}", headers=hospital_headers)
    assert detail.json()["state"] == "reversed"


async def test_a_retried_admission_reversal_answers_the_same_and_says_it_is_a_replay(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    # A HIS that retried after a timeout could not tell the retry from the reversal: both
    # answered 200 with nothing to tell them apart (ADR 0030: the header says it).
    visit_id = await _admit(client, hospital_headers, "V-4")
    first = await _reverse_admission(client, hospital_headers, visit_id)
    again = await _reverse_admission(client, hospital_headers, visit_id)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.postgres
async def test_an_admission_reversal_sent_twice_at_once_is_one_reversal_and_one_replay(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    visits = [await _admit(client, hospital_headers, f"T{i:03d}") for i in range(10)]
    for visit_id in visits:
        twins = await asyncio.gather(
            *(_reverse_admission(client, hospital_headers, visit_id) for _ in range(3))
        )
        assert [r.status_code for r in twins] == [200] * 3, [r.text for r in twins]
        assert sorted(r.headers.get("Idempotent-Replayed", "") for r in twins) == [
            "",
            "true",
            "true",
        ]
        assert len({r.text for r in twins}) == 1


async def _admitted_with_active_settlement(app: FastAPI) -> list[tuple[str, str]]:
    """Reversed admissions whose settlement is still active: must never exist."""
    async with app.state.sessionmaker() as s:
        rows = await s.exec(  # type: ignore[call-overload]
            sa.text(
                "SELECT a.visit_id, s.his_settlement_id FROM admissions a "
                "JOIN settlements s ON s.hospital_code = a.hospital_code "
                "AND s.visit_id = a.visit_id "
                "LEFT JOIN settlement_reversals r ON r.settlement_id = s.id "
                "WHERE a.state = 'reversed' AND r.id IS NULL"
            )
        )
        return [(r[0], r[1]) for r in rows]


@pytest.mark.postgres
async def test_settling_and_reversing_the_admission_at_once_never_leave_both(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    visits = [await _admit(client, hospital_headers, f"R{i:03d}") for i in range(30)]

    async def race(visit_id: str) -> tuple[int, int]:
        settling = client.post(
            "/v1/settlements",
            json=settlement_request(visit_id, his=f"H-{visit_id}"),
            headers=hospital_headers,
        )
        reversing = _reverse_admission(client, hospital_headers, visit_id)
        settled, reversed_ = await asyncio.gather(settling, reversing)
        return settled.status_code, reversed_.status_code

    outcomes = Counter(await asyncio.gather(*(race(v) for v in visits)))
    # Exactly one of the two wins each race; the loser gets a 409, never a 5xx.
    assert set(outcomes) <= {(201, 409), (409, 200)}, outcomes
    assert await _admitted_with_active_settlement(app) == []
