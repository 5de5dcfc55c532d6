"""GET /v1/violations: every filter, sort, keyset paging edges, scope and totals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests import factories as f
from tests.factories import KeyFactory

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
async def ledger(app: FastAPI) -> list[int]:
    """Six findings over two counties, three hospitals, three rules, two severities."""
    return await f.book(
        app.state.sessionmaker,
        f.finding(detected_at=T0, visit_id="V1"),
        f.finding(detected_at=T0 + timedelta(days=1), rule_code="NOT_ONE_STOP", visit_id="V2"),
        f.finding(
            detected_at=T0 + timedelta(days=2),
            hospital_code=f.TOWNSHIP_HOSPITAL,
            severity="high",
            visit_id="V3",
        ),
        f.finding(
            detected_at=T0 + timedelta(days=3),
            hospital_code=f.NEIGHBOUR_HOSPITAL,
            county_code=f.NEIGHBOUR_COUNTY,
            visit_id="V4",
        ),
        f.finding(
            detected_at=T0 + timedelta(days=4),
            hospital_code=f.NEIGHBOUR_HOSPITAL,
            county_code=f.NEIGHBOUR_COUNTY,
            rule_code="IMPROPER_REFERRAL",
            visit_id="V5",
        ),
        f.finding(detected_at=T0 + timedelta(days=4), visit_id="V6"),
    )


async def _list(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/v1/violations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _visits(body: Any) -> list[str]:
    return [item["visit_id"] for item in body["items"]]


async def test_newest_first_with_ties_broken_by_id(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    body = await _list(client, auditor_headers)
    assert _visits(body) == ["V6", "V5", "V4", "V3", "V2", "V1"]
    assert body["total"] == 6
    assert body["total_exact"] is True
    assert body["next_cursor"] is None


async def test_ascending_sort(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    body = await _list(client, auditor_headers, sort="asc")
    assert _visits(body) == ["V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.mark.parametrize(
    ("params", "visits"),
    [
        ({"region": "990103"}, ["V5", "V4"]),
        ({"region": "9901"}, ["V6", "V5", "V4", "V3", "V2", "V1"]),
        ({"hospital_code": f.TOWNSHIP_HOSPITAL}, ["V3"]),
        ({"rule_code": "NOT_ONE_STOP"}, ["V2"]),
        ({"severity": "high"}, ["V3"]),
        ({"status": "open"}, ["V6", "V5", "V4", "V3", "V2", "V1"]),
        ({"status": "verified"}, []),
        ({"visit_id": "V4"}, ["V4"]),
        ({"detected_from": "2026-03-12"}, ["V6", "V5", "V4", "V3"]),
        ({"detected_to": "2026-03-11"}, ["V2", "V1"]),
        ({"detected_from": "2026-03-11", "detected_to": "2026-03-11"}, ["V2"]),
        ({"region": "990102", "rule_code": "DEPOSIT_CHARGED"}, ["V6", "V3", "V1"]),
    ],
)
async def test_each_filter(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    params: dict[str, str],
    visits: list[str],
) -> None:
    body = await _list(client, auditor_headers, **params)
    assert _visits(body) == visits
    assert body["total"] == len(visits)


async def test_days_are_china_time(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], app: FastAPI
) -> None:
    # 2026-03-10 17:00 UTC is 2026-03-11 01:00 in Beijing.
    await f.book(
        app.state.sessionmaker, f.finding(detected_at=datetime(2026, 3, 10, 17, tzinfo=UTC))
    )
    assert (await _list(client, auditor_headers, detected_to="2026-03-10"))["items"] == []
    assert len((await _list(client, auditor_headers, detected_from="2026-03-11"))["items"]) == 1


async def test_pages_walk_every_row_once(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"page_size": 4} | ({"cursor": cursor} if cursor else {})
        body = await _list(client, auditor_headers, **params)
        seen += _visits(body)
        pages += 1
        assert body["total"] == 6
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert seen == ["V6", "V5", "V4", "V3", "V2", "V1"]


async def test_an_exact_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    first = await _list(client, auditor_headers, page_size=3)
    assert first["next_cursor"] is not None
    second = await _list(client, auditor_headers, page_size=3, cursor=first["next_cursor"])
    assert _visits(second) == ["V3", "V2", "V1"]
    assert second["next_cursor"] is None
    assert (second["total"], second["total_exact"]) == (6, True)


async def test_exact_single_page(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    body = await _list(client, auditor_headers, page_size=6)
    assert len(body["items"]) == 6
    assert body["next_cursor"] is None


async def test_an_empty_ledger_is_an_empty_page(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    body = await _list(client, auditor_headers)
    assert body == {
        "items": [],
        "total": 0,
        "total_exact": True,
        "total_cap": 10_000,
        "next_cursor": None,
        "page_size": 50,
    }


async def test_ascending_pages_continue_in_order(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    first = await _list(client, auditor_headers, sort="asc", page_size=5)
    second = await _list(
        client, auditor_headers, sort="asc", page_size=5, cursor=first["next_cursor"]
    )
    assert _visits(first) + _visits(second) == ["V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.mark.parametrize("cursor", ["garbage", "eyJ0IjogMX0", "!!!"])
async def test_a_bad_cursor_is_422(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], cursor: str
) -> None:
    response = await client.get(
        "/v1/violations", params={"cursor": cursor}, headers=auditor_headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_cursor"


def _forged(t: object, i: object) -> str:
    raw = json.dumps({"t": t, "i": i, "s": "desc"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("t", "i"),
    [
        ("0001-01-01T00:00:00+14:00", 1),  # no UTC form: the bind overflowed (500)
        ("9999-12-31T23:59:59-14:00", 1),
        ("2026-01-01T00:00:00+00:00", 10**30),  # past BIGINT
        ("2026-01-01T00:00:00+00:00", -5),
        ("2026-01-01T00:00:00+00:00", True),
        ("2026-01-01T00:00:00+00:00", 1.5),
        ("2026-01-01T00:00:00+00:00", "\u0661\u0662"),  # Arabic-Indic digits int() reads
    ],
)
async def test_a_forged_cursor_is_a_bad_cursor_never_a_500(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], t: str, i: object
) -> None:
    response = await client.get(
        "/v1/violations", params={"cursor": _forged(t, i)}, headers=auditor_headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "bad_cursor"


async def test_a_cursor_of_the_other_sort_is_422(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    first = await _list(client, auditor_headers, page_size=2)
    response = await client.get(
        "/v1/violations",
        params={"cursor": first["next_cursor"], "sort": "asc"},
        headers=auditor_headers,
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "params",
    [{"page_size": 0}, {"page_size": 201}, {"status": "closed"}, {"region": "9"}, {"x": "1"}],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], params: dict[str, Any]
) -> None:
    response = await client.get("/v1/violations", params=params, headers=auditor_headers)
    assert response.status_code == 422


async def test_an_auditor_sees_only_its_region(
    client: httpx.AsyncClient, make_key: KeyFactory, ledger: list[int]
) -> None:
    county_auditor = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    assert _visits(await _list(client, county_auditor)) == ["V5", "V4"]
    # Asking for another region, or a wider one, never widens the scope.
    assert (await _list(client, county_auditor, region="990102"))["items"] == []
    assert _visits(await _list(client, county_auditor, region="99")) == ["V5", "V4"]
    hospital = await _list(client, county_auditor, hospital_code=f.COUNTY_HOSPITAL)
    assert hospital["items"] == []
    assert hospital["total"] == 0


async def test_an_auditor_of_another_province_sees_nothing(
    client: httpx.AsyncClient, make_key: KeyFactory, ledger: list[int]
) -> None:
    elsewhere = await make_key("auditor", region_prefix="50")
    assert (await _list(client, elsewhere))["total"] == 0
    response = await client.get(f"/v1/violations/{ledger[0]}", headers=elsewhere)
    assert response.status_code == 404


async def test_a_hospital_sees_only_its_own(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    ledger: list[int],
) -> None:
    assert _visits(await _list(client, hospital_headers)) == ["V6", "V2", "V1"]
    assert _visits(await _list(client, other_hospital_headers)) == ["V5", "V4"]
    asked = await _list(client, hospital_headers, hospital_code=f.NEIGHBOUR_HOSPITAL)
    assert asked["items"] == []
    response = await client.get(f"/v1/violations/{ledger[3]}", headers=hospital_headers)
    assert response.status_code == 404


async def test_an_admin_sees_everything(
    client: httpx.AsyncClient, admin_headers: dict[str, str], ledger: list[int]
) -> None:
    assert (await _list(client, admin_headers))["total"] == 6


async def test_no_key_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/violations")).status_code == 401


async def test_the_total_stops_at_the_cap(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("service.violations.total.TOTAL_CAP", 4)
    body = await _list(client, auditor_headers, page_size=2)
    assert body["total"] == 4
    assert body["total_exact"] is False


async def test_the_detail_has_evidence_and_no_person_key(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get(f"/v1/violations/{ledger[0]}", headers=auditor_headers)
    assert response.status_code == 200
    body = response.json()
    assert body["evidence"] == {"deposit_taken_fen": 200000}
    assert body["points"] == "0.20"
    assert body["transitions"] == []
    assert body["person_masked"] == "500112********0011"
    assert "person_key" not in body
    assert (await client.get("/v1/violations/999999", headers=auditor_headers)).status_code == 404
