"""What run_schemathesis.py adds to the demo data and to the generated cases.

`seed` makes the ledger worth attacking: admissions of demo roster people at the demo county
hospital, deposits (some from eligible patients: DEPOSIT_CHARGED), settlements one-stop and
insurance-only (NOT_ONE_STOP), a reversed settlement, a reversed admission, and violations moved
through rectification by the hospital and the auditor. Every call must answer as expected, or
the run stops: a seed that silently failed would make the run prove less.

`pinned` sends the cases issue 11 found by hand, with every role's key: extreme date filters on
the ledger, scoreboard and indicators, exports with those dates and with control characters in a
filter, implausible dates in bodies, and one plain export that must arrive whole. Each must be a
4xx (or, for the plain export, a complete 200); the failures are returned as text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service.roster.demo import demo_people
from service.violations.export import FAILED_MARK

Case = tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]  # method, path, query, body


def _expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise RuntimeError(
            f"seeding: {response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response


def _admission(i: int, id_number: str, county: str, at: datetime) -> dict[str, Any]:
    return {
        "visit_id": f"SCH-{i:03d}",
        "id_number": id_number,
        "name": "王明",
        "admitted_at": at.isoformat(),
        "visit_type": "inpatient",
        "insured_county": county,
        "deposit_intended": "500.00",
    }


def _settlement(visit_id: str, at: datetime, mode: str) -> dict[str, Any]:
    return {
        "visit_id": visit_id,
        "his_settlement_id": f"S-{visit_id}",
        "discharged_at": at.isoformat(),
        "settlement_mode": mode,
        "bill": {"total": "23456.78", "in_policy": "21000.00", "out_of_policy": "2456.78"},
    }


def seed(url: str, keys: dict[str, str], *, visits: int = 12) -> dict[str, int]:
    """Admit, take deposits, settle, reverse and rectify; returns what was made."""
    hospital = {"X-API-Key": keys["hospital"]}
    auditor = {"X-API-Key": keys["auditor"]}
    now = datetime.now(UTC).replace(microsecond=0)
    made = {"admissions": 0, "deposits": 0, "settlements": 0, "reversals": 0, "transitions": 0}
    people = [p for p in demo_people() if p.insured_county == "990102" and not p.deceased]
    with httpx.Client(base_url=url, timeout=30) as c:
        for i, person in enumerate(people[:visits]):
            admitted = now - timedelta(days=30 - i, hours=3)
            body = _admission(i, person.id_number, person.insured_county, admitted)
            _expect(c.post("/v1/admissions", json=body, headers=hospital), 201)
            made["admissions"] += 1
            visit = body["visit_id"]
            if i % 3 == 0:
                deposit = {
                    "receipt_no": f"R-{i:03d}",
                    "amount": "500.00",
                    "taken_at": (admitted + timedelta(hours=1)).isoformat(),
                }
                _expect(
                    c.post(f"/v1/admissions/{visit}/deposits", json=deposit, headers=hospital), 201
                )
                made["deposits"] += 1
            if i == visits - 1:
                reversal = {"reason": "误登记"}
                _expect(
                    c.post(f"/v1/admissions/{visit}/reversal", json=reversal, headers=hospital), 200
                )
                made["reversals"] += 1
                continue
            mode = "insurance_only" if i % 4 == 1 else "one_stop"
            settled = _expect(
                c.post(
                    "/v1/settlements",
                    json=_settlement(visit, admitted + timedelta(days=3), mode),
                    headers=hospital,
                ),
                201,
            ).json()
            made["settlements"] += 1
            if i == 2:
                path = f"/v1/settlements/{settled['id']}/reversal"
                _expect(c.post(path, json={"reason": "重新结算"}, headers=hospital), 201)
                made["reversals"] += 1
        made["transitions"] = _rectify(c, hospital, auditor)
    return made


def _rectify(c: httpx.Client, hospital: dict[str, str], auditor: dict[str, str]) -> int:
    page = _expect(c.get("/v1/violations", params={"page_size": 20}, headers=hospital), 200).json()
    ids = [v["id"] for v in page["items"]]
    if len(ids) < 3:
        raise RuntimeError(f"seeding: expected violations to rectify, found {len(ids)}")
    moves = 0
    for n, vid in enumerate(ids[:4]):
        steps = [(hospital, "rectifying", "")]
        if n != 3:
            steps.append((hospital, "rectified", "已退还押金"))
        if n == 1:
            steps.append((auditor, "verified", ""))
        if n == 2:
            steps.append((auditor, "rectifying", "证据不足，退回整改"))
        for who, status, note in steps:
            body = {"to_status": status, "note": note}
            _expect(c.post(f"/v1/violations/{vid}/transitions", json=body, headers=who), 201)
            moves += 1
    return moves


EXTREME_DAYS = ("0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01")
LEDGER_PATHS = ("/v1/violations", "/v1/violations/export.csv", "/v1/violations/export.xlsx")
PERIOD_PATHS = (
    "/v1/violations/scoreboard",
    "/v1/violations/scoreboard/export.csv",
    "/v1/violations/scoreboard/export.xlsx",
    "/v1/indicators",
)


def hostile_cases(id_number: str) -> list[Case]:
    cases: list[Case] = []
    for day in EXTREME_DAYS:
        for path in LEDGER_PATHS:
            cases += [("GET", path, {"detected_from": day}, None)]
            cases += [("GET", path, {"detected_to": day}, None)]
        for path in PERIOD_PATHS:
            cases += [("GET", path, {"from": day}, None), ("GET", path, {"to": day}, None)]
        cases += [("GET", f"/v1/persons/{id_number}/status", {"on": day}, None)]
    for bad in ("\x00", "V\x00", "a\nb", "\x7f", "=1+1"):
        cases += [("GET", path, {"visit_id": bad}, None) for path in LEDGER_PATHS]
        cases += [("GET", "/v1/settlements", {"visit_id": bad}, None)]
    cases += [
        (
            "GET",
            "/v1/violations/export.csv",
            {"detected_from": "2026-04-01", "detected_to": "2026-03-01"},
            None,
        )
    ]
    year_2999 = datetime(2999, 1, 1, tzinfo=UTC)
    settle = _settlement("SCH-001", year_2999, "one_stop") | {"his_settlement_id": "S-2999"}
    preview = {k: v for k, v in settle.items() if k != "his_settlement_id"}
    deposit = {"receipt_no": "R-999", "amount": "1.00", "taken_at": year_2999.isoformat()}
    cases += [
        ("POST", "/v1/admissions", None, _admission(900, id_number, "990102", year_2999)),
        ("POST", "/v1/admissions/SCH-000/deposits", None, deposit),
        ("POST", "/v1/settlements", None, settle),
        ("POST", "/v1/settlements/preview", None, preview),
    ]
    return cases


def pinned(url: str, keys: dict[str, str]) -> list[str]:
    """Every hostile case with every role's key, then a whole export; the failures."""
    failures = []
    id_number = demo_people()[1].id_number
    with httpx.Client(base_url=url, timeout=30) as c:
        for role in ("hospital", "auditor", "admin"):
            headers = {"X-API-Key": keys[role]}
            for method, path, query, body in hostile_cases(id_number):
                r = c.request(method, path, params=query, json=body, headers=headers)
                if not 400 <= r.status_code < 500:
                    failures.append(f"{role} {method} {path} {query}: {r.status_code}")
                elif id_number in r.text:
                    failures.append(f"{role} {method} {path}: the ID number came back")
            whole = c.get("/v1/violations/export.csv", headers=headers)
            lines = whole.text.strip().splitlines()
            if whole.status_code != 200 or FAILED_MARK in whole.text or len(lines) < 2:
                failures.append(f"{role} export: {whole.status_code}, {len(lines)} line(s)")
    return failures
