"""The scoreboard on a hand-checked ledger, and CSV/XLSX exports of queries and scoreboard."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from service.violations.labels import RULE_LABELS, SEVERITY_LABELS, SOURCE_LABELS
from tests import factories as f
from tests.factories import KeyFactory

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
async def ledger(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> list[int]:
    neighbour = {"county_code": f.NEIGHBOUR_COUNTY, "hospital_code": f.NEIGHBOUR_HOSPITAL}
    ids = await f.book(
        app.state.sessionmaker,
        f.finding(visit_id="V1"),
        f.finding(visit_id="V2", rule_code="NOT_ONE_STOP"),
        f.finding(visit_id="V3", hospital_code=f.TOWNSHIP_HOSPITAL, points=Decimal("0.50")),
        f.finding(visit_id="V4", rule_code="IMPROPER_REFERRAL", points=Decimal("1"), **neighbour),
        f.finding(visit_id="V5", detected_at=datetime(2026, 4, 2, tzinfo=UTC), **neighbour),
    )
    r = await client.post(
        f"/v1/violations/{ids[0]}/transitions",
        json={"to_status": "rectifying"},
        headers=admin_headers,
    )
    assert r.status_code == 201
    return ids


async def test_the_scoreboard_ranks_counties_and_hospitals(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get("/v1/violations/scoreboard", params=MARCH, headers=auditor_headers)
    assert response.status_code == 200, response.text
    board = response.json()
    assert (board["total_points"], board["total_count"]) == ("1.90", 4)
    counties = [
        (c["rank"], c["code"], c["name"], c["points"], c["count"]) for c in board["counties"]
    ]
    assert counties == [(1, "990103", "邻县", "1.00", 1), (2, "990102", "演示县", "0.90", 3)]
    hospitals = [(h["rank"], h["code"], h["points"]) for h in board["hospitals"]]
    assert hospitals == [
        (1, f.NEIGHBOUR_HOSPITAL, "1.00"),
        (2, f.TOWNSHIP_HOSPITAL, "0.50"),
        (3, f.COUNTY_HOSPITAL, "0.40"),
    ]
    county = board["counties"][1]
    assert county["by_rule"] == {"DEPOSIT_CHARGED": 2, "NOT_ONE_STOP": 1}
    assert county["by_status"] == {"open": 2, "rectifying": 1}


async def test_ties_share_a_rank(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    params = {"from": "2026-04-01", "to": "2026-04-30"}
    board = (
        await client.get("/v1/violations/scoreboard", params=params, headers=auditor_headers)
    ).json()
    assert [(c["code"], c["points"]) for c in board["counties"]] == [("990103", "0.20")]
    board = (
        await client.get(
            "/v1/violations/scoreboard", params={"region": "990102"}, headers=auditor_headers
        )
    ).json()
    assert [h["rank"] for h in board["hospitals"]] == [1, 2]


async def test_the_scoreboard_stays_in_scope(
    client: httpx.AsyncClient,
    make_key: KeyFactory,
    hospital_headers: dict[str, str],
    ledger: list[int],
) -> None:
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    board = (await client.get("/v1/violations/scoreboard", headers=neighbour)).json()
    assert [c["code"] for c in board["counties"]] == ["990103"]
    board = (
        await client.get(
            "/v1/violations/scoreboard", params={"region": "990102"}, headers=neighbour
        )
    ).json()
    assert board["counties"] == []
    own = (await client.get("/v1/violations/scoreboard", headers=hospital_headers)).json()
    assert [h["code"] for h in own["hospitals"]] == [f.COUNTY_HOSPITAL]


async def test_csv_export_of_a_query(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get(
        "/v1/violations/export.csv", params={"region": "990102"}, headers=auditor_headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="violations.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["编号", "发现时间", "县区编码", "医院编码"]
    assert [r[7] for r in rows[1:]] == ["V3", "V2", "V1"]
    assert rows[-1][8] == "500112********0011"
    assert rows[-1][10] == "整改中"
    assert rows[-1][1] == "2026-03-10 18:00:00"  # China time
    assert "k" * 64 not in text


async def test_the_export_walks_past_one_batch(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    ledger: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.violations import query

    original = query.iter_violations

    def small_batches(*args, **kwargs):  # type: ignore[no-untyped-def]
        return original(*args, **kwargs | {"batch": 2})

    monkeypatch.setattr("service.violations.export.iter_violations", small_batches)
    response = await client.get("/v1/violations/export.csv", headers=auditor_headers)
    assert len(response.content.decode("utf-8-sig").strip().splitlines()) == 6


async def test_xlsx_export_of_a_query(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get("/v1/violations/export.xlsx", headers=hospital_headers)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "编号"
    assert [r[7] for r in rows[2:]] == ["V2", "V1"]  # the hospital's own only


async def test_scoreboard_exports(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get(
        "/v1/violations/scoreboard/export.csv", params=MARCH, headers=auditor_headers
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["层级", "排名", "编码", "名称", "所属县区", "扣分合计"]
    assert rows[1][:7] == ["县区", "1", "990103", "邻县", "990103", "1.00", "1"]
    assert len(rows) == 1 + 2 + 3
    response = await client.get(
        "/v1/violations/scoreboard/export.xlsx", params=MARCH, headers=auditor_headers
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    assert sheet.max_row == 1 + 1 + 2 + 3
    assert sheet["F3"].value == 1  # points as a number
    assert sheet["F3"].number_format == "0.00"


async def test_an_xlsx_export_is_made_for_people(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ledger: list[int]
) -> None:
    response = await client.get(
        "/v1/violations/export.xlsx",
        params={"region": "990102", "detected_from": "2026-03-01"},
        headers=auditor_headers,
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    caption = sheet["A1"].value
    assert caption.startswith("问题台账 · 筛选：地区 990102，业务日期 2026-03-01 至 今")
    assert "导出于" in caption
    assert sheet["A1"].font.bold
    header = [c.value for c in sheet[2]]
    assert header[:2] == ["编号", "发现时间"]
    assert sheet["A2"].font.bold
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:M{sheet.max_row}"
    assert sheet.column_dimensions["B"].width >= 16
    first = list(sheet[3])
    by_name = dict(zip(header, first, strict=True))
    assert isinstance(by_name["编号"].value, int)
    assert isinstance(by_name["发现时间"].value, datetime)
    assert by_name["发现时间"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert isinstance(by_name["扣分"].value, (int, float))
    assert by_name["问题类型"].value in RULE_LABELS.values()
    assert by_name["严重程度"].value in SEVERITY_LABELS.values()
    assert by_name["来源"].value in SOURCE_LABELS.values()


async def test_a_bad_format_is_422(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    response = await client.get("/v1/violations/export.pdf", headers=auditor_headers)
    assert response.status_code == 422
