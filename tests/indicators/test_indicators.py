"""GET /v1/indicators on a small data set whose every figure is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.settlements.models import SettlementReversal
from tests import factories as f
from tests.factories import KeyFactory

MARCH = {"region": "990102", "from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
async def data(app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    adm = f.admission
    admissions = {
        "a1": adm(visit_id="a1"),
        "a2": adm(visit_id="a2", deposit_taken_fen=2000_00),
        "a3": adm(visit_id="a3", hospital_code=f.TOWNSHIP_HOSPITAL),
        "a4": adm(
            visit_id="a4",
            hospital_code=f.CITY_HOSPITAL,
            county_code="990101",
            location="out_of_county",
        ),
        "a5": adm(
            visit_id="a5",
            eligible=False,
            eligibility={"covered": False},
            deposit_taken_fen=500_00,
        ),
        # Covered, but no chronic outpatient visit is pay-after-treatment eligible under the
        # demo policy (see test_chronic_outpatient_flow.py for the same through the API).
        "a6": adm(visit_id="a6", visit_type="chronic_outpatient", eligible=False),
        "a7": adm(visit_id="a7", state="reversed"),
        "a8": adm(visit_id="a8", admitted_at=datetime(2026, 5, 1, tzinfo=UTC)),
    }
    async with app.state.sessionmaker() as session:
        session.add_all(admissions.values())
        await session.flush()
        s = f.settlement
        a = admissions
        settled = [
            s(a["a1"], total_fen=10000_00, funds_total_fen=9200_00, in_policy="9800.00"),
            s(a["a2"], total_fen=5000_00, funds_total_fen=4000_00, in_policy="4500.00",
              settlement_mode="insurance_only"),
            s(a["a3"], total_fen=2000_00, funds_total_fen=1900_00, in_policy="2000.00"),
            s(a["a6"], total_fen=1000_00, funds_total_fen=700_00, in_policy="1000.00"),
            s(a["a5"], total_fen=3000_00, funds_total_fen=100_00, in_policy="1.00"),
            s(a["a4"], total_fen=9000_00, funds_total_fen=100_00, in_policy="1.00"),
        ]  # fmt: skip
        reversed_one = s(
            a["a3"], visit_seq=2, his_settlement_id="S-a3-2", total_fen=999_00, in_policy="1.00"
        )
        session.add_all([*settled, reversed_one])
        await session.flush()
        session.add(
            SettlementReversal(
                settlement_id=reversed_one.id, reason="t", deltas={}, reversed_by="t"
            )
        )
        await session.commit()
    ids = await f.book(
        app.state.sessionmaker,
        f.finding(),
        f.finding(),
        f.finding(county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL),
    )
    for to in ("rectifying", "rectified", "verified"):
        r = await client.post(
            f"/v1/violations/{ids[0]}/transitions", json={"to_status": to}, headers=admin_headers
        )
        assert r.status_code == 201


async def _get(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/v1/indicators", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_hand_checked_figures(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], data: None
) -> None:
    body = await _get(client, auditor_headers, **MARCH)
    assert body["eligible_inpatients"] == 3  # a1, a2, a3
    assert body["no_deposit_share"] | {} == {
        "value": "0.6667", "numerator": 2, "denominator": 3, "target": None, "meets_target": None
    }  # fmt: skip
    assert body["in_county_rate"]["value"] == "0.8333"  # a1 a2 a3 a5 a6 of a1..a6
    assert body["one_stop_share"]["value"] == "0.6667"  # s1, s3 of s1, s2, s3
    inpatient = body["actual_ratio_inpatient"]
    assert (inpatient["numerator"], inpatient["denominator"]) == (15100_00, 17000_00)
    assert (inpatient["value"], inpatient["target"], inpatient["meets_target"]) == (
        "0.8882", "0.90", False
    )  # fmt: skip
    chronic = body["actual_ratio_chronic_outpatient"]
    assert (chronic["value"], chronic["target"], chronic["meets_target"]) == (
        "0.7000",
        "0.80",
        False,
    )
    levels = {x["level"]: x["share"] for x in body["out_of_catalogue_by_level"]}
    assert levels["secondary"]["numerator"] == 700_00  # 16000 - (9800 + 4500 + 1000)
    assert levels["secondary"]["value"] == "0.0438"
    assert levels["primary"]["value"] == "0.0000"
    assert "tertiary" not in levels  # the city hospital is outside 990102
    assert body["problems"] == {"open": 1, "closed": 1, "by_status": {"open": 1, "verified": 1}}


async def test_an_empty_period_has_no_ratios(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], data: None
) -> None:
    body = await _get(client, auditor_headers, region="990102", **{"from": "2027-01-01"})
    assert body["eligible_inpatients"] == 0
    assert body["no_deposit_share"]["value"] is None
    assert body["actual_ratio_inpatient"]["value"] is None
    assert body["problems"]["open"] == 0


async def test_the_whole_province(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], data: None
) -> None:
    body = await _get(client, auditor_headers, **{"from": "2026-03-01", "to": "2026-03-31"})
    assert body["region"] == "99"
    assert body["eligible_inpatients"] == 4  # a4 at the city hospital counts too
    assert body["problems"]["open"] == 2


async def test_scope(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    hospital_headers: dict[str, str],
    data: None,
) -> None:
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    response = await client.get("/v1/indicators", params=MARCH, headers=neighbour)
    assert response.status_code == 404
    assert (await client.get("/v1/indicators", headers=hospital_headers)).status_code == 403
    own = await _get(client, neighbour)
    assert own["region"] == f.NEIGHBOUR_COUNTY
    assert own["problems"]["open"] == 1
