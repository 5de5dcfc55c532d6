"""Two closes of one period at once make one statement (PostgreSQL: real concurrency)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.clearing.models import ClearingStatement, ClearingStatementLine
from tests import factories
from tests.factories import KeyFactory, Ledger, at


@pytest.mark.postgres
async def test_concurrent_closes_of_one_period_close_it_once(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory, auditor_headers: dict[str, str]
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    ledger = Ledger(app)
    for day in (3, 4, 5):
        await ledger.settle(at(2026, 3, day), basic=100_00 * day)
    body = {"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
            "period": "2026-03"}  # fmt: skip
    responses = await asyncio.gather(
        *(
            client.post("/v1/clearing/statements", json=body, headers=h)
            for h in (fund, auditor_headers, fund, auditor_headers)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["content_hash"] for r in responses}) == 1
    async with app.state.sessionmaker() as s:
        assert len((await s.exec(select(ClearingStatement))).all()) == 1
        assert len((await s.exec(select(ClearingStatementLine))).all()) == 3
