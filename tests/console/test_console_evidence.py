"""A finding's evidence and its history as a person reads them: Chinese labels, yuan, and the
names of the hospital and key that acted, never raw keys like `amount_fen` or `hospital:H…#3`."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from service.violations.evidence import actor_words, evidence_rows
from tests import factories as f
from tests.factories import KeyFactory


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


async def test_the_evidence_and_the_operator_are_shown_in_words(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    evidence = {"amount_fen": 200000, "status_source": "snapshot", "receipt_no": "YJ-7",
                "categories": ["registered_poor"], "referred": False}  # fmt: skip
    [violation_id] = await f.book(
        app.state.sessionmaker,
        f.finding(rule_code="DEPOSIT_CHARGED", source="deposit", source_ref="deposit:7",
                  evidence=evidence),
    )  # fmt: skip
    desk = await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL, label="住院收费处")
    await client.post("/console/login", data={"api_key": desk["X-API-Key"]})
    page = await client.get(f"/console/violations/{violation_id}")
    await client.post(
        f"/console/violations/{violation_id}/transitions",
        data={"to_status": "rectifying", "csrf": _csrf(page.text), "note": "已退还"},
    )
    html = (await client.get(f"/console/violations/{violation_id}")).text
    table = html[html.index('id="evidence"') : html.index('id="history"')]
    assert "押金金额" in table
    assert "2000.00 元" in table
    assert "本地名单快照" in table
    assert "收据号" in table
    assert "200000" not in table
    assert ">amount_fen<" not in table
    history = html[html.index('id="history"') :]
    assert "演示县人民医院（医院，密钥 #" in history
    assert "住院收费处" in history
    assert ">hospital:" not in history
    assert "押金（记录号 7）" in html


def test_unknown_evidence_keys_and_actors_stay_as_they_are() -> None:
    rows = evidence_rows({"new_field": 3, "refund_fen": -150, "nested": {"limit": "0.10"}})
    assert [(r.label, r.value) for r in rows] == [
        ("new_field", "3"),
        ("应退金额", "-1.50 元"),
        ("nested", "限值：0.10"),
    ]
    assert actor_words("system", names={}, key_labels={}) == "system"
    assert actor_words("auditor:99#4", names={}, key_labels={}) == "99（督查，密钥 #4）"
    assert (
        actor_words("admin:*#1", names={}, key_labels={1: "省局"}) == "全部（管理员，密钥 #1 省局）"
    )
