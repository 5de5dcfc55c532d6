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
    statuses = [r.status_code for r in responses]
    assert statuses == [201, 201, 201, 201], [r.text for r in responses]  # replays too (ADR 0030)
    replayed = sorted(r.headers.get("Idempotent-Replayed", "") for r in responses)
    assert replayed == ["", "true", "true", "true"]
    assert len({r.json()["content_hash"] for r in responses}) == 1
    async with app.state.sessionmaker() as s:
        assert len((await s.exec(select(ClearingStatement))).all()) == 1
        assert len((await s.exec(select(ClearingStatementLine))).all()) == 3


async def test_a_fund_registered_twice_at_once_answers_both_with_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A double click registers one fund, and the twin is answered as a replay would be (the
    same 201 and body), not with `fund_exists` naming a region that is not at fault."""
    for n in range(10):
        body = {"code": f"F98-T{n}", "fund_type": f"top_up_{n}", "region_code": "98",
                "name": "县医疗救助", "owner": "民政局"}  # fmt: skip
        twins = await asyncio.gather(
            *(client.post("/v1/clearing/funds", json=body, headers=admin_headers) for _ in range(2))
        )
        assert [t.status_code for t in twins] == [201, 201], [t.text for t in twins]
        assert twins[0].json() == twins[1].json()


async def test_closes_of_two_months_at_once_chain_one_after_the_other(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    """An empty month and the month after it closed at once (an empty month does not hold the
    next one back): each statement chains onto a different one, never both onto the same
    predecessor (races show on PostgreSQL)."""
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    ledger = Ledger(app)
    for first in range(1, 12, 3):
        await ledger.settle(at(2024, first, 5), basic=100_00)
        await ledger.settle(at(2024, first + 2, 5), basic=100_00)
        periods = [f"2024-{month:02d}" for month in range(first, first + 3)]
        bodies = [{"fund_code": "F99-BASIC", "hospital_code": factories.COUNTY_HOSPITAL,
                   "period": period} for period in periods]  # fmt: skip
        closed = await client.post("/v1/clearing/statements", json=bodies[0], headers=fund)
        assert closed.status_code == 201, closed.text
        both = await asyncio.gather(
            *(client.post("/v1/clearing/statements", json=b, headers=fund) for b in bodies[1:])
        )
        empty, later = both
        assert later.status_code == 201, later.text
        # the empty month, closed first, or found closed over by the later month
        assert (empty.status_code, empty.json().get("code")) in (
            (201, None),
            (409, "period_closed"),
        )
    async with app.state.sessionmaker() as s:
        rows = (await s.exec(select(ClearingStatement))).all()
    chained = sorted((r.prev_hash, r.content_hash) for r in rows)
    assert len(rows) >= 8  # four rounds: the first and the last month of each at least
    assert len({prev for prev, _ in chained}) == len(rows)  # none has two successors
    heads = {content for _, content in chained} - {prev for prev, _ in chained}
    assert len(heads) == 1  # one chain, one head
