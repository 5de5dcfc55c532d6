"""年度补足 in the console, through the HTTP client as a browser: a dry run stores nothing,
booking books what the API would, a second booking books nothing, the booked rows are listed a
page at a time with each fund's total and download as the API's file, and a refusal comes back
on the page in Chinese with what was typed.

The S7 worked example (tests/yearend/test_year_end_run.py works it by hand): one medical-aid
recipient's three stays of 2025 owe a top-up of 1303.06 from medical aid."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.china_time import today
from service.routers import console_yearend
from tests import factories as f
from tests.factories import KeyFactory

YEAR = {"region_code": f.S7_PREFECTURE, "plan_year": "2025"}


async def _settled_year(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_key: KeyFactory,
    people: int = 1,
) -> None:
    await f.seed_s7_region(app.state.sessionmaker, client, await make_key("admin"))
    hospital = await make_key("hospital", hospital_code=f.S7_HOSPITAL)
    await f.s7_year(client, session, hospital, people)


async def _signed_in(client: httpx.AsyncClient, make_key: KeyFactory, prefix: str) -> str:
    """Sign an auditor of `prefix` in; its API key (the console's session is in the cookie)."""
    key = (await make_key("auditor", region_prefix=prefix))["X-API-Key"]
    await f.console_sign_in(client, key)
    return key


async def _post(client: httpx.AsyncClient, action: str, **typed: str) -> httpx.Response:
    form = await client.get("/console/yearend")
    data = {**YEAR, **typed, "action": action, "csrf": f.csrf_in(form.text)}
    return await client.post("/console/yearend", data=data)


async def _api_rows(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    answer = await client.get("/v1/year-end/payments", params=YEAR, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["payments"]
    return rows


def _cells(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table class="grid" id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None, f"no table {table}"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows]  # fmt: skip


def _strong(html: str, id_: str) -> str:
    found = re.search(rf'<strong id="{id_}">([^<]*)</strong>', html)
    assert found is not None, id_
    return found.group(1)


async def test_a_dry_run_stores_nothing_booking_books_once_and_a_second_booking_nothing(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, make_key: KeyFactory
) -> None:
    await _settled_year(app, client, session, make_key)
    key = await _signed_in(client, make_key, "32")

    dry = await _post(client, "dry_run")
    assert dry.status_code == 200, dry.text
    assert "试算结果（未入账）" in dry.text
    assert (_strong(dry.text, "run-rows"), _strong(dry.text, "run-booked-now")) == ("1", "1303.06")
    assert _cells(dry.text, "run-funds") == [["医疗救助", "1303.06", "0.00", "1303.06"]]
    ((masked, pool, name, *figures),) = _cells(dry.text, "run-persons")
    assert masked.count("*") == 8
    assert pool == f.S7_COUNTY
    assert "补足" in name
    # stays counted, cost, self-pay seen, deductible, the year's figure, booked before, now
    assert figures == ["3", "200000.00", "21303.06", "20000.00", "1303.06", "0.00", "1303.06"]
    assert await _api_rows(client, key) == []  # the dry run stored nothing
    assert _cells(dry.text, "payments") == [["尚未入账"]]

    booked = await _post(client, "book")
    assert booked.status_code == 200, booked.text
    assert "入账结果" in booked.text
    assert "已入账 1 笔，合计 1303.06 元" in booked.text
    (row,) = await _api_rows(client, key)
    assert (row["amount"], row["seq"]) == ("1303.06", 1)
    assert row["booked_by"].startswith("auditor:32#")
    assert f'id="payment-{row["id"]}"' in booked.text  # listed below, as the API lists it
    assert _cells(booked.text, "payment-funds") == [["医疗救助", "1303.06"]]

    again = await _post(client, "book")
    assert "本次无新增入账" in again.text
    assert (_strong(again.text, "run-rows"), _strong(again.text, "run-booked-now")) == ("0", "0.00")
    assert _cells(again.text, "run-funds") == [["医疗救助", "1303.06", "1303.06", "0.00"]]
    assert [r["id"] for r in await _api_rows(client, key)] == [row["id"]]


async def test_the_booked_rows_are_paged_and_download_as_the_api_gives_them(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _settled_year(app, client, session, make_key, people=3)
    key = await _signed_in(client, make_key, "3202")
    monkeypatch.setattr(console_yearend, "PERSONS_SHOWN", 2)
    booked = await _post(client, "book")
    assert "已入账 3 笔" in booked.text
    assert len(_cells(booked.text, "run-persons")) == 2  # the first people, and a word on the rest
    assert 'id="run-more">仅列出前 2 人（共 3 人）' in booked.text
    ids = [r["id"] for r in await _api_rows(client, key)]
    monkeypatch.setattr(console_yearend, "PAGE_SIZE", 2)

    first = await client.get("/console/yearend", params=YEAR)
    assert re.findall(r'id="payment-(\d+)"', first.text) == [str(i) for i in ids[:2]]
    assert 'id="first-page"' not in first.text
    following = re.search(r'href="(/console/yearend\?[^"]+)" id="next-page"', first.text)
    assert following is not None
    second = await client.get(following.group(1).replace("&amp;", "&"))
    assert re.findall(r'id="payment-(\d+)"', second.text) == [str(ids[2])]
    assert 'id="next-page"' not in second.text
    assert 'id="first-page"' in second.text
    total = sum(int(r[1].replace(".", "")) for r in _cells(second.text, "payment-funds"))
    assert total == 1303_06 + 2 * 1203_06  # every row's total, not the page's

    csv = await client.get("/console/yearend/export.csv", params=YEAR)
    api = await client.get(
        "/v1/year-end/payments/export.csv", params=YEAR, headers={"X-API-Key": key}
    )
    assert csv.status_code == api.status_code == 200
    assert csv.text == api.text
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("编号,人员(脱敏),参保县区,险种年度,补足项目")
    assert sorted(line.split(",")[8] for line in lines[1:]) == ["1203.06", "1203.06", "1303.06"]
    xlsx = await client.get("/console/yearend/export.xlsx", params=YEAR)
    assert xlsx.headers["content-disposition"].endswith('year-end-320200-2025.xlsx"')


@pytest.mark.parametrize(
    ("typed", "status", "words"),
    [
        ({"plan_year": "this"}, 422, "年度尚未结束"),
        ({"plan_year": "2999"}, 422, "年度有误"),
        ({"region_code": "320299"}, 404, "未找到地区"),
        ({"region_code": "990102"}, 404, "地区不在范围内"),  # another province
        ({"region_code": "320000"}, 404, "地区不在范围内"),  # wider than the auditor's
        ({"region_code": "32-200"}, 422, "请求无法处理"),
        ({"plan_year": "二〇二五"}, 422, "请求无法处理"),
    ],
)
@pytest.mark.parametrize("action", ["dry_run", "book"])
async def test_a_refusal_comes_back_on_the_page_with_what_was_typed(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_key: KeyFactory,
    typed: dict[str, str],
    status: int,
    words: str,
    action: str,
) -> None:
    await _settled_year(app, client, session, make_key)
    key = await _signed_in(client, make_key, "3202")
    if typed.get("plan_year") == "this":
        typed = {"plan_year": str(today().year)}
    answer = await _post(client, action, **typed)
    assert answer.status_code == status, answer.text[:300]
    error = re.search(r'class="flash err" id="error">([^<]*)</p>', answer.text)
    assert error is not None, answer.text[:600]
    assert error.group(1).startswith(words)
    kept = {**YEAR, **typed}
    form = answer.text.split('id="yearend-run"')[1].split("</form>")[0]
    assert f'name="region_code" value="{kept["region_code"]}"' in form
    assert f'name="plan_year" value="{kept["plan_year"]}"' in form
    assert await _api_rows(client, key) == []


async def test_a_refusal_says_its_detail_once_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    await f.seed_s7_region(app.state.sessionmaker, client, await make_key("admin"))
    await _signed_in(client, make_key, "32")
    answer = await _post(client, "dry_run", plan_year="2999")
    assert (
        "年度有误：险种年度须在2000年至2098年之间。"
        "（plan_year: plan year 2999 is not between 2000 and 2098）"
    ) in answer.text


async def test_the_form_opens_on_the_auditors_region_and_last_year_and_an_admins_is_blank(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    await _signed_in(client, make_key, "99")
    page = await client.get("/console/yearend")
    assert page.status_code == 200
    assert 'name="region_code" value="990000"' in page.text
    assert f'name="plan_year" value="{today().year - 1}"' in page.text
    assert 'href="/console/yearend" class="on">年度补足<' in page.text  # in the menu
    assert 'id="payment-funds"' not in page.text  # the booked rows once asked (查询)
    asked = await client.get(
        "/console/yearend", params={"region_code": "990000", "plan_year": 2024}
    )
    assert _cells(asked.text, "payment-funds") == [["尚未入账"]]

    admin = await make_key("admin")
    await f.console_sign_in(client, admin["X-API-Key"])
    page = await client.get("/console/yearend")
    assert 'name="region_code" value=""' in page.text
    assert 'id="payment-funds"' not in page.text
