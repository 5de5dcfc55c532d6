"""The printable one-stop settlement slip (一站式结算单)."""

import re
from datetime import datetime
from decimal import Decimal

import httpx
from fastapi import FastAPI

from service.china_time import CHINA_TZ
from service.settlements.slip_words import percent, ratio_words
from tests import factories
from tests.factories import bill, settle, settlement_request


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
        client,
        hospital_headers,
        settlement_request(visit.visit_id, bill=bill("20000.00", "500.00")),
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
    result = await settle(client, hospital_headers, settlement_request(visit.visit_id))
    await client.post(
        f"/v1/settlements/{result['id']}/reversal",
        json={"reason": "录入错误"},
        headers=hospital_headers,
    )
    html = (await client.get(f"/v1/settlements/{result['id']}/slip", headers=hospital_headers)).text
    assert "已冲销" in html
    assert "录入错误" in html


async def test_the_slip_speaks_chinese_in_percentages_on_a4_and_on_a_receipt(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    result = await settle(client, hospital_headers, settlement_request(visit.visit_id))
    url = f"/v1/settlements/{result['id']}/slip"
    a4 = (await client.get(url, headers=hospital_headers)).text
    receipt = await client.get(url, params={"layout": "receipt"}, headers=hospital_headers)
    assert receipt.status_code == 200
    actual = f"{Decimal(result['totals']['actual_ratio']) * 100:.2f}%"
    for html in (a4, receipt.text):
        assert actual in html
        assert result["totals"]["patient_pays_in_capitals"] in html
        assert not re.search(r"\b(bands|cap|target|out) ", html)  # the API's English ratio text
        assert result["totals"]["actual_ratio"] not in html
    assert "size: A4" in a4
    assert "size: 80mm" in receipt.text
    assert "layout-receipt" in receipt.text
    applied = [layer for layer in result["layers"] if layer["applied"]]
    assert all(layer["name"] in receipt.text for layer in applied)
    bad = await client.get(url, params={"layout": "letter"}, headers=hospital_headers)
    assert bad.status_code == 422


def test_ratio_words() -> None:
    assert ratio_words("0.60; out 0.95") == "60%（目录外 95%）"
    assert ratio_words("target 0.90") == "补足至 90%"
    assert ratio_words("bands") == "分段累进"
    assert percent("0.8512") == "85.12%"
    assert percent("1.00") == "100%"


async def test_a_reversed_slip_prints_the_reversal_time_in_china_time(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Every time on the slip is China time, as the desk and the patient read it: the
    reversal stamped in UTC was eight hours early (and the day before, before 08:00)."""
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    result = await settle(client, hospital_headers, settlement_request(visit.visit_id))
    reversed_ = await client.post(
        f"/v1/settlements/{result['id']}/reversal",
        json={"reason": "录入错误"},
        headers=hospital_headers,
    )
    at = datetime.fromisoformat(reversed_.json()["reversal"]["created_at"])
    for layout in ("a4", "receipt"):
        slip = await client.get(
            f"/v1/settlements/{result['id']}/slip",
            params={"layout": layout},
            headers=hospital_headers,
        )
        stamp = at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        assert f"已冲销 · {stamp} · 录入错误" in slip.text
