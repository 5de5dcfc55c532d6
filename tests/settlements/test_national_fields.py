"""The national field names of a settlement answer: each fund type in its own field, the
patient's share as cash, and settlements stored before these fields existed read the same."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI

from service.settlements.models import Settlement
from tests import factories
from tests.factories import settle
from tests.factories import settlement_request as body

FUND_FIELDS = ("hifp_pay", "hifmi_pay", "maf_pay", "hifes_pay", "hosp_part_amt", "oth_pay")


async def test_fund_fields_add_up_and_old_settlements_read_like_new_ones(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    made = await settle(client, hospital_headers, body(visit.visit_id))
    funds = sum(Decimal(made[f]) for f in FUND_FIELDS)
    assert funds == Decimal(made["fund_pay_sumamt"])
    assert funds + Decimal(made["psn_part_amt"]) == Decimal(made["medfee_sumamt"])
    assert made["psn_cash_pay"] == made["psn_part_amt"]
    assert made["acct_pay"] == "0.00"

    # A settlement stored before hifes_pay & co. existed, with supplementary cover in oth_pay.
    old = {k: v for k, v in made.items() if k not in ("hifes_pay", "acct_pay", "psn_cash_pay")}
    old = {**old, "oth_pay": "999.00"}
    stored_keys = set(old) - {"id", "status", "his_settlement_id", "created_at", "reversal"}
    async with app.state.engine.begin() as conn:
        table = Settlement.__table__  # type: ignore[attr-defined]
        await conn.execute(
            table.update()
            .where(table.c.id == made["id"])
            .values(result={k: old[k] for k in stored_keys})
        )
    read = (await client.get(f"/v1/settlements/{made['id']}", headers=hospital_headers)).json()
    assert {k: read[k] for k in FUND_FIELDS} == {k: made[k] for k in FUND_FIELDS}
    assert (read["psn_cash_pay"], read["acct_pay"]) == (made["psn_cash_pay"], "0.00")
