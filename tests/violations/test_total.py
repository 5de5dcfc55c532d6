"""The total of GET /v1/violations: free and exact when one page holds every row, counted when
it does not, and on PostgreSQL a floor ("more than this page") when the count overruns its
time budget, without holding up the page or spoiling the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.violations.query import list_violations
from service.violations.scope import ViolationFilter
from tests import factories as f

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
PROVINCE = Principal(key_id=1, role=Role.AUDITOR, region_prefix="99")


@pytest.fixture
async def three(app: FastAPI) -> list[int]:
    return await f.book(
        app.state.sessionmaker,
        *(f.finding(detected_at=T0 + timedelta(hours=i), visit_id=f"V{i}") for i in range(3)),
    )


async def _list(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/v1/violations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _never_counted(*args: Any, **kwargs: Any) -> int:
    raise AssertionError("a result that fits on one page was counted")


async def _slow_count(session: AsyncSession, conditions: list[Any], cap: int) -> int:
    await session.exec(sa.text("SELECT pg_sleep(2)"))  # type: ignore[call-overload]
    return 3


async def test_one_page_of_rows_is_its_own_exact_total(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    three: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("service.violations.total.count_capped", _never_counted)
    body = await _list(client, auditor_headers, page_size=3)
    assert (body["total"], body["total_exact"], body["next_cursor"]) == (3, True, None)


async def test_a_last_page_after_a_cursor_counts_the_rows_before_it(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], three: list[int]
) -> None:
    first = await _list(client, auditor_headers, page_size=2)
    last = await _list(client, auditor_headers, page_size=2, cursor=first["next_cursor"])
    assert len(last["items"]) == 1
    assert last["next_cursor"] is None
    assert (last["total"], last["total_exact"]) == (3, True)


@pytest.mark.postgres
async def test_a_count_past_its_budget_is_a_floor_and_the_page_still_comes(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    three: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("service.violations.total.count_capped", _slow_count)
    body = await _list(client, auditor_headers, page_size=2)
    assert [item["visit_id"] for item in body["items"]] == ["V2", "V1"]
    assert (body["total"], body["total_exact"]) == (2, False)
    assert body["next_cursor"] is not None


@pytest.mark.postgres
@pytest.mark.parametrize("slow", [True, False], ids=["overrun", "in-budget"])
async def test_the_transaction_goes_on_with_its_own_statement_timeout(
    app: FastAPI, three: list[int], monkeypatch: pytest.MonkeyPatch, slow: bool
) -> None:
    if slow:
        monkeypatch.setattr("service.violations.total.count_capped", _slow_count)
    async with app.state.sessionmaker() as session:
        before = (await session.exec(sa.text("SHOW statement_timeout"))).scalar_one()  # type: ignore[call-overload]
        page = await list_violations(
            session, principal=PROVINCE, wanted=ViolationFilter(), page_size=2
        )
        after = (await session.exec(sa.text("SHOW statement_timeout"))).scalar_one()  # type: ignore[call-overload]
        assert page.total_exact is not slow
        assert after == before != "20ms"
        assert page.items[0].visit_id == "V2"  # the page's rows are still loaded and usable
