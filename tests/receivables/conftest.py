"""Receivable helpers: an eligible in-county inpatient settled through the API (discharged
2024-03-10, so its share is long overdue), and its receivable."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests import factories
from tests.settlements.conftest import body, settle


async def settled(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    async with app.state.sessionmaker() as s:
        admission = await factories.make_admission(s, **overrides)
    return await settle(client, headers, body(admission.visit_id))


async def receivable_of(
    client: httpx.AsyncClient, headers: dict[str, str], settlement_id: int
) -> dict[str, Any]:
    response = await client.get(
        "/v1/receivables", params={"settlement_id": settlement_id}, headers=headers
    )
    assert response.status_code == 200, response.text
    [found] = response.json()
    result: dict[str, Any] = found
    return result


def payment(amount: str, his: str = "P1", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "his_payment_id": his,
        "method": "wechat_pay",
        "receipt_no": f"R-{his}",
        "amount": amount,
        "paid_at": "2024-03-20T10:00:00+08:00",
    }
    values.update(overrides)
    return values
