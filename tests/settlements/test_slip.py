"""The printable one-stop settlement slip (一站式结算单)."""

import httpx
from fastapi import FastAPI

from tests import factories
from tests.settlements.conftest import bill, body, settle


async def test_the_slip_shows_the_layers_and_the_patient_share_in_capitals(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    raw = factories.resident_id(region=factories.COUNTY, seq=9)
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s, resident=raw)
    result = await settle(
        client, hospital_headers, body(visit.visit_id, bill=bill("20000.00", "500.00"))
    )
    response = await client.get(f"/v1/settlements/{result['id']}/slip", headers=hospital_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "一站式结算单" in html
    assert "演示县人民医院" in html
    assert result["totals"]["patient_pays"] in html
    assert result["totals"]["patient_pays_in_capitals"] in html
    assert result["policy"]["content_hash"] in html
    assert result["policy"]["version"] in html
    for item in result["layers"]:
        assert item["name"] in html
    assert raw not in html
    assert raw[:6] + "********" + raw[-4:] in html
    assert "2024-03-01" in html
    assert "2024-03-10" in html
    by_auditor = await client.get(f"/v1/settlements/{result['id']}/slip", headers=auditor_headers)
    assert by_auditor.status_code == 200


async def test_a_reversed_settlement_slip_says_so(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    result = await settle(client, hospital_headers, body(visit.visit_id))
    await client.post(
        f"/v1/settlements/{result['id']}/reversal",
        json={"reason": "录入错误"},
        headers=hospital_headers,
    )
    html = (await client.get(f"/v1/settlements/{result['id']}/slip", headers=hospital_headers)).text
    assert "已冲销" in html
    assert "录入错误" in html
