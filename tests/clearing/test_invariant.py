"""The clearing invariant as a property: over any sequence of settlements, reversals, closes
and payments, a fund's closed statements plus its open ones add up to the fund's share of the
active settlements, and no statement is paid more than it owes."""

from __future__ import annotations

import itertools
from decimal import Decimal

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.regions.models import Hospital
from tests.factories import KeyFactory, Ledger, at

FUNDS = {"F99-BASIC": "basic", "F99-CRITICAL": "critical"}
MONTHS = [f"2026-{m:02d}" for m in range(1, 10)]
_hospitals = itertools.count(1)

operation = st.one_of(
    st.tuples(st.just("settle"), st.integers(1, 6), st.integers(0, 5000_00),
              st.integers(0, 900_00)),
    st.tuples(st.just("reverse"), st.integers(0, 30), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("close"), st.sampled_from(sorted(FUNDS)), st.integers(1, 7), st.just(0)),
    st.tuples(st.just("pay"), st.integers(0, 30), st.integers(1, 3000_00), st.just(0)),
)  # fmt: skip


def _fen(amount: str) -> int:
    return int(Decimal(amount) * 100)


async def _hospital(app: FastAPI) -> str:
    code = f"HP{next(_hospitals):08d}"
    async with app.state.sessionmaker() as s:
        s.add(Hospital(code=code, name="性质测试医院", county_code="990102", level="secondary",
                       tier="county"))  # fmt: skip
        await s.commit()
    return code


@settings(
    max_examples=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=14))
async def test_closed_plus_open_statements_equal_the_active_settlements(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory, ops: list[tuple]
) -> None:
    hospital = await _hospital(app)
    ledger = Ledger(app)
    keys = {f: await make_key("fund", region_prefix="99", fund_code=f) for f in FUNDS}
    active: dict[int, tuple[int, int, int]] = {}  # settlement id -> (month, basic, critical)
    reversed_: set[int] = set()
    closed_ids: list[tuple[str, int]] = []
    for op, a, b, c in ops:
        if op == "settle":
            sid = await ledger.settle(at(2026, a), basic=b, critical=c, hospital_code=hospital)
            active[sid] = (a, b, c)
        elif op == "reverse" and active:
            sid = sorted(active)[a % len(active)]
            month = min(active[sid][0] + b, 9)
            await ledger.reverse(sid, at(2026, month, 20))
            del active[sid]
            reversed_.add(sid)
        elif op == "close":
            response = await client.post(
                "/v1/clearing/statements",
                json={"fund_code": a, "hospital_code": hospital, "period": MONTHS[b - 1]},
                headers=keys[a],
            )
            assert response.status_code in (200, 201, 409), response.text
            if response.status_code == 201:
                closed_ids.append((a, response.json()["id"]))
        elif op == "pay" and closed_ids:
            fund, sid = closed_ids[a % len(closed_ids)]
            response = await client.post(
                f"/v1/clearing/statements/{sid}/payments",
                json={
                    "amount": f"{b // 100}.{b % 100:02d}",
                    "paid_on": "2026-10-01",
                    "reference": f"R{len(ops)}-{a}-{b}",
                },  # fmt: skip
                headers=keys[fund],
            )
            assert response.status_code in (200, 201, 409), response.text
    for fund, kind in FUNDS.items():
        expected = sum(v[1] if kind == "basic" else v[2] for v in active.values())
        total = 0
        for period in MONTHS:
            response = await client.get(
                "/v1/clearing/statement",
                params={"fund_code": fund, "hospital_code": hospital, "period": period},
                headers=keys[fund],
            )
            assert response.status_code == 200, response.text
            body = response.json()
            total += _fen(body["fund_own_amt"])
            if body["status"] == "closed":
                paid = _fen(body["paid"])
                assert paid <= max(_fen(body["fund_own_amt"]), 0)
        assert total == expected, (fund, ops)
