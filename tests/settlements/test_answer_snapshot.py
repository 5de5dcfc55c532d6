"""The settlement answers and stored rows, byte for byte, against a snapshot taken before the
hot path's own work was cut (issue 16, ADR 0022's addendum): the worked examples' policies,
the demo county's (fee waiver, findings, insurance-only, out of county without referral),
bill lines with categories, stages and a stay across a plan-year end; each answer as sent
(created, replayed, read, `?trace=summary|none`, preview) and each row as stored (the result,
deltas, fingerprint, the receivable, the violations' evidence).

`SETTLECHECK_WRITE_SNAPSHOT=1 pytest tests/settlements/test_answer_snapshot.py` writes the
snapshot again; only ever from a commit whose answers are known good.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from tests import factories
from tests.factories import at, bill, settlement_request

SNAPSHOTS = Path(__file__).parent / "snapshots"

_ID = re.compile(rb'"(id|settlement_id)":\d+')
_CREATED = re.compile(rb'"created_at":"[^"]*"')


def _masked(body: bytes) -> str:
    """The answer's bytes with what differs per run (row ids, the clock) put aside."""
    return _CREATED.sub(b'"created_at":"*"', _ID.sub(rb'"\1":0', body)).decode()


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class Recorder:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client
        self.seen: dict[str, Any] = {}

    async def admit(self, name: str, seq: int, **overrides: Any) -> str:
        region = overrides.pop("region", factories.COUNTY)
        overrides.setdefault("admitted_at", at(2024, 1, 5))
        overrides.setdefault("insured_county", region)
        overrides.setdefault("county_code", region)
        async with self.app.state.sessionmaker() as s:
            visit = await factories.make_admission(
                s,
                resident=factories.resident_id(region=region, seq=seq),
                visit_id=f"SNAP-{name}",
                **overrides,
            )
        return str(visit.visit_id)

    async def post(
        self, name: str, headers: dict[str, str], payload: dict[str, Any], query: str = ""
    ) -> dict[str, Any]:
        answer = await self.client.post(f"/v1/settlements{query}", json=payload, headers=headers)
        assert answer.status_code in (200, 201), answer.text
        self.seen[f"{name} answer"] = [answer.status_code, _masked(answer.content)]
        body: dict[str, Any] = answer.json()
        if "id" in body and body["id"] is not None:
            self.seen[f"{name} row"] = await self.row(body["id"])
        return body

    async def get(self, name: str, headers: dict[str, str], settlement_id: int) -> None:
        for query in ("", "?trace=summary", "?trace=none"):
            answer = await self.client.get(
                f"/v1/settlements/{settlement_id}{query}", headers=headers
            )
            assert answer.status_code == 200, answer.text
            self.seen[f"{name} get{query}"] = _masked(answer.content)

    async def row(self, settlement_id: int) -> dict[str, Any]:
        async with self.app.state.sessionmaker() as session:
            s = await session.connection()
            row = (
                (
                    await s.execute(
                        sa.text("SELECT * FROM settlements WHERE id = :i"), {"i": settlement_id}
                    )
                )
                .mappings()
                .one()
            )
            receivables = (
                (
                    await s.execute(
                        sa.text("SELECT * FROM receivables WHERE settlement_id = :i"),
                        {"i": settlement_id},
                    )
                )
                .mappings()
                .all()
            )
            violations = (
                (
                    await s.execute(
                        sa.text(
                            "SELECT rule_code, severity, points_hundredths, evidence, "
                            "policy_hash, event_on FROM violations "
                            "WHERE source = 'settlement' AND source_ref = :r ORDER BY rule_code"
                        ),
                        {"r": str(settlement_id)},
                    )
                )
                .mappings()
                .all()
            )
        skip = {"id", "created_at", "settlement_id", "admission_id"}
        return _plain(
            {
                "settlement": {k: v for k, v in row.items() if k not in skip},
                "receivables": [
                    {k: v for k, v in r.items() if k not in skip and not k.endswith("_at")}
                    for r in receivables
                ],
                "violations": [dict(v) for v in violations],
            }
        )


def jan(visit_id: str, his: str = "S1", **overrides: Any) -> dict[str, Any]:
    """A settlement discharged under the shipped demo county policy (before the wired one)."""
    return settlement_request(visit_id, his, discharged_at="2024-01-25T10:00:00+08:00", **overrides)


async def test_answers_and_rows_are_the_snapshot(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    key_for: Any,
) -> None:
    rec = Recorder(app, client)
    h = hospital_headers
    # The wired county policy from 2024-02-01 (the stages, the stay across the year end and
    # the bill with line categories); the shipped demo county policy before it.
    loaded = await client.post(
        "/v1/policies", json={"source_text": factories.wired_policy()}, headers=admin_headers
    )
    assert loaded.status_code == 201, loaded.text
    # The demo county: default bill, then insurance-only, out of county without referral,
    # a bill in lines with an out-of-policy breakdown, and trace options.
    first = await rec.post("demo", h, jan(await rec.admit("demo", 1), his="D-1"))
    await rec.post("demo replay", h, jan("SNAP-demo", his="D-1"))
    await rec.get("demo", h, first["id"])
    await rec.post(
        "insurance only",
        h,
        jan(await rec.admit("ins", 2), his="D-2", settlement_mode="insurance_only"),
    )
    await rec.post(
        "out of county",
        h,
        jan(await rec.admit("ooc", 3, location="out_of_county"), his="D-3"),
    )
    lines = [
        {"item": "registration", "amount": "20.00", "in_policy": True},
        {"item": "bed", "amount": "3000.00", "in_policy": True},
        {"item": "drug", "amount": "12480.50", "in_policy": True},
        {"item": "exam", "amount": "1999.99", "in_policy": False},
        {"item": "other", "amount": "0.01", "in_policy": False},
    ]
    breakdown = {
        "full_self_pay": "1000.00",
        "over_limit_self_pay": "500.00",
        "pre_self_pay": "500.00",
    }
    await rec.post(
        "lines",
        h,
        jan(
            await rec.admit("lines", 4),
            his="D-4",
            bill={**bill("15500.50", "2000.00", lines=lines), "out_of_policy_breakdown": breakdown},
        ),
    )
    for trace in ("summary", "none"):
        await rec.post(
            f"trace {trace}",
            h,
            jan(await rec.admit(f"t{trace}", 5 if trace == "summary" else 6), his="D-5"),
            query=f"?trace={trace}",
        )
    preview = {
        k: v for k, v in jan(await rec.admit("preview", 7)).items() if k != "his_settlement_id"
    }
    answer = await client.post("/v1/settlements/preview", json=preview, headers=h)
    assert answer.status_code == 200, answer.text
    rec.seen["preview"] = _masked(answer.content)
    # Stages: two mid-settlements and the final one.
    await rec.admit("stages", 8, admitted_at=at(2024, 3, 1))
    for n, end in enumerate(("2024-03-10", "2024-03-20", "2024-03-30"), start=1):
        await rec.post(
            f"stage {n}",
            h,
            settlement_request(
                "SNAP-stages",
                his=f"ST{n}",
                discharged_at=f"{end}T10:00:00+08:00",
                bill=bill("20000.00", "500.00"),
                mid_settlement=n < 3,
            ),
        )
    # A stay across the plan-year end.
    await rec.post(
        "cross year",
        h,
        settlement_request(
            await rec.admit("xyear", 9, admitted_at=at(2024, 12, 20)),
            his="X-1",
            discharged_at="2025-01-10T10:00:00+08:00",
            bill=bill("21000.00"),
        ),
    )
    # Bill lines with categories under the wired county policy.
    wired_lines = [
        {"item": "drug", "amount": "2000.00", "in_policy": True, "category": "targeted_drug"},
        {"item": "bed", "amount": "8000.00", "in_policy": True},
    ]
    await rec.post(
        "wired",
        h,
        settlement_request(
            await rec.admit("wired", 10), his="W-1", bill=bill("10000.00", lines=wired_lines)
        ),
    )
    # The worked examples' regions.
    examples: list[tuple[str, str, str, str, dict[str, Any], dict[str, Any]]] = [
        ("E1", "H500112001", "500112", "2023-10-30", bill("50000.00", "2000.00"), {}),
        ("D2", "H511802001", "511802", "2018-05-01", bill("9000.00", "1000.00"), {}),
        (
            "D1",
            "H420102001",
            "420102",
            "2018-06-06",
            bill("150000.00"),
            {"external_amounts": {"basic_insurance": "0.00"}},
        ),
        (
            "D5",
            "H340102001",
            "340102",
            "2018-06-04",
            bill("8200.00"),
            {
                "external_amounts": {
                    "basic_insurance": "0",
                    "critical_illness": "0",
                    "medical_aid": "0",
                }
            },
        ),
        (
            "E3",
            "H320281001",
            "320281",
            "2020-08-01",
            bill("135000.00", "15000.00"),
            {"external_amounts": {"basic_insurance": "68828.00", "critical_illness": "37161.80"}},
        ),
        (
            "E5",
            "H990201001",
            "990201",
            "2024-03-04",
            bill("150000.00"),
            {"external_amounts": {"basic_insurance": "0.00"}},
        ),
    ]
    categories = {"E1": ["low_income_edge"], "E3": ["medical_aid_recipient"], "E5": []}
    for n, (name, hospital, region, out, amounts, extra) in enumerate(examples, start=20):
        day = [int(part) for part in out.split("-")]
        visit = await rec.admit(
            name,
            n,
            region=region,
            hospital_code=hospital,
            admitted_at=at(day[0], day[1], 1) if day[2] > 1 else at(day[0], day[1] - 1, 20),
            **({"categories": categories[name]} if name in categories else {}),
        )
        await rec.post(
            name,
            await key_for(hospital),
            {
                "visit_id": visit,
                "his_settlement_id": name,
                "discharged_at": f"{out}T09:00:00+08:00",
                "bill": amounts,
                **extra,
            },
        )
    assert len(rec.seen) >= 40
    # The stored columns read back as each database returns them (JSON text on SQLite).
    dialect = app.state.sessionmaker.kw["bind"].dialect.name
    snapshot = SNAPSHOTS / ("answers.json" if dialect == "sqlite" else f"answers-{dialect}.json")
    if os.environ.get("SETTLECHECK_WRITE_SNAPSHOT"):
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(
            json.dumps(rec.seen, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            encoding="utf-8",
        )
    expected = json.loads(snapshot.read_text(encoding="utf-8"))
    assert set(rec.seen) == set(expected)
    for key, value in expected.items():
        assert rec.seen[key] == value, key
