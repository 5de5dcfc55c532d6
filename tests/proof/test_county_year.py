"""A county's year through the API, as its hospitals and its auditor use it, not one request at a
time: every month admissions (some eligible, some not, some while the registry is down),
deposits, discharges, a reversal and a re-settlement, rectifications (one sent back and done
again), then the auditor's month-end reading. After every month and at the year end the
invariants that a county relies on are checked against what the service answered:

- every slip adds up: the layers and the patient's share make the bill, to the fen;
- a person's annual cap is used exactly by their active settlements of that year, never more,
  a reversal gives back what it took, and the new year starts afresh;
- no "not eligible" is ever given when the registry could not answer;
- every deposit from an eligible patient is on the ledger, and the ledger, its scoreboard and
  its export agree; the hash chain verifies at the end;
- nothing of the county is visible to the neighbour county's auditor.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

from service.china_time import CHINA_TZ
from service.settings import Settings
from tests import factories as f
from tests.factories import KeyFactory

REGISTRY = "http://registry.test"
YEAR = 2025
pytestmark = pytest.mark.slow


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The registry's answers must not outlive the month in which it goes down.
    return f.make_settings(
        database_url,
        registry_total_deadline_seconds=0.3,
        registry_breaker_failures=1000,
        cache_ttl_seconds=0,
    )


def _fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


@dataclass
class Person:
    id_number: str
    eligible: bool
    visits: int = 0


@dataclass
class County:
    """What the test expects, built from the service's own answers."""

    # (person, year, layer code) -> the cap the first settlement revealed (cap_left + amount)
    caps: dict[tuple[str, int, str], int] = field(default_factory=dict)
    # (person, year, layer code) -> {settlement id: amount fen} of active settlements
    used: dict[tuple[str, int, str], dict[int, int]] = field(default_factory=dict)
    # settlement id -> fen by fund type, of the settlements still active
    fund_amounts: dict[int, dict[str, int]] = field(default_factory=dict)
    deposits_from_eligible: int = 0
    unknown_answers: int = 0
    settled: int = 0


def _check_slip(body: dict[str, Any]) -> None:
    totals = body["totals"]
    layers = sum(_fen(layer["amount"]) for layer in body["layers"])
    assert layers + _fen(totals["patient_pays"]) + _fen(totals["waived"]) == _fen(totals["total"])
    assert layers == _fen(totals["fund_total"])


def _book_caps(county: County, person: str, body: dict[str, Any]) -> None:
    """A settlement's cap_left must be the cap less every active settlement's amount."""
    year = body["year"]
    for layer in body["layers"]:
        if layer["cap_left"] is None:
            continue
        key = (person, year, layer["code"])
        amount, left = _fen(layer["amount"]), _fen(layer["cap_left"])
        assert left >= 0
        active = county.used.setdefault(key, {})
        active[body["id"]] = amount
        cap = county.caps.setdefault(key, left + sum(active.values()))
        assert left == cap - sum(active.values()), (key, left, cap, active)


def _book_funds(county: County, body: dict[str, Any]) -> None:
    amounts: dict[str, int] = defaultdict(int)
    for layer in body["layers"]:
        amounts[layer["fund_type"]] += _fen(layer["amount"])
    county.fund_amounts[body["id"]] = dict(amounts)


def _registry(persons: dict[str, Person], down: set[int], month: list[int]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if month[0] in down:
            raise httpx.ConnectError("the registry is down this month")
        who = next(p for p in persons.values() if p.id_number in request.url.path)
        if who.eligible:
            return httpx.Response(200, json=f.registry_person(valid_from="2016-01-01"))
        return httpx.Response(404, json={"code": "not_registered"})

    return answer


async def test_a_county_year(app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory) -> None:
    rng = random.Random(2025)
    desk = await make_key("hospital", hospital_code=f.COUNTY_HOSPITAL)
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    admin = await make_key("admin")
    neighbour = await make_key("auditor", region_prefix=f.NEIGHBOUR_COUNTY)
    persons = {f"P{i}": Person(f.resident_id(seq=100 + i), eligible=i % 4 != 3) for i in range(8)}
    down_months = {5, 9}  # the registry is unreachable in May and September
    month = [1]
    county = County()
    settlement_of: dict[str, tuple[str, int]] = {}  # visit -> (person, settlement id)

    this_year = _county_version(THIS_YEARS_VERSION, f"{YEAR}-01-01", YEAR_END_TOP_UP)
    await _load_policy(client, admin, this_year, "县医保局2025年文件（含年度补足）")

    with respx.mock(base_url=REGISTRY, assert_all_called=False) as registry:
        registry.get(url__regex=r"/persons/.*").mock(
            side_effect=_registry(persons, down_months, month)
        )
        for m in range(1, 13):
            month[0] = m
            if m == 12:  # the county adopts next year's policy before the year ends
                await _succeed_policy(client, admin)
            for name in rng.sample(sorted(persons), 3):
                person = persons[name]
                person.visits += 1
                visit = f"V{m:02d}-{name}-{person.visits}"
                day = rng.randint(1, 20)
                answer = await _admit(
                    client, desk, visit, person, f"{YEAR}-{m:02d}-{day:02d}T09:00:00+08:00"
                )
                if m in down_months:
                    # fail safe: no wrong "not eligible" while the registry cannot say
                    assert answer["source"]["kind"] in ("snapshot", "unknown")
                    assert answer["pay_after_treatment"]["eligible"] is not False
                    county.unknown_answers += 1
                else:
                    assert answer["pay_after_treatment"]["eligible"] is person.eligible
                if rng.random() < 0.3:  # the desk takes a deposit anyway
                    taken = await client.post(
                        f"/v1/admissions/{visit}/deposits",
                        json={
                            "receipt_no": f"R-{visit}",
                            "amount": "2000.00",
                            "taken_at": f"{YEAR}-{m:02d}-{day:02d}T10:00:00+08:00",
                        },
                        headers=desk,
                    )
                    assert taken.status_code == 201, taken.text
                    if answer["pay_after_treatment"]["eligible"] is True:
                        county.deposits_from_eligible += 1
                in_policy = rng.choice(["3000.00", "18000.00", "45000.00", "120000.00"])
                slip = await f.settle(
                    client,
                    desk,
                    f.settlement_request(
                        visit,
                        his=f"S-{visit}",
                        discharged_at=f"{YEAR}-{m:02d}-{day + 5:02d}T10:00:00+08:00",
                        bill=f.bill(in_policy, rng.choice(["0.00", "800.00", "6000.00"])),
                    ),
                )
                _check_slip(slip)
                assert slip["year"] == YEAR
                assert slip["policy"]["version"] == THIS_YEARS_VERSION  # December too
                _book_caps(county, name, slip)
                _book_funds(county, slip)
                settlement_of[visit] = (name, slip["id"])
                county.settled += 1

            # once a quarter the desk reverses a settlement and settles the visit again
            if m % 3 == 0:
                visit = sorted(v for v in settlement_of if v.startswith(f"V{m:02d}-"))[0]
                name, sid = settlement_of[visit]
                reversed_ = await client.post(
                    f"/v1/settlements/{sid}/reversal",
                    json={"his_reversal_id": f"R-{sid}", "reason": "费用录入有误"},
                    headers=desk,
                )
                assert reversed_.status_code == 201, reversed_.text
                for key, active in county.used.items():
                    if key[0] == name:
                        active.pop(sid, None)
                county.fund_amounts.pop(sid)
                again = await f.settle(
                    client,
                    desk,
                    f.settlement_request(
                        visit,
                        his=f"S2-{visit}",
                        discharged_at=f"{YEAR}-{m:02d}-25T10:00:00+08:00",
                        bill=f.bill("9000.00", "300.00"),
                    ),
                )
                _check_slip(again)
                _book_caps(county, name, again)
                _book_funds(county, again)
                settlement_of[visit] = (name, again["id"])

            await _month_end(client, desk, auditor, m)

    await _year_end(client, desk, auditor, neighbour, county, persons, settlement_of)
    await _year_end_top_up(client, desk, auditor, neighbour, county)
    await _funds_owe(client, auditor, county)


async def _admit(
    client: httpx.AsyncClient, desk: dict[str, str], visit: str, person: Person, at: str
) -> dict[str, Any]:
    admitted = await client.post(
        "/v1/admissions",
        json=f.admission_request(visit_id=visit, id_number=person.id_number, admitted_at=at),
        headers=desk,
    )
    assert admitted.status_code == 201, admitted.text
    answer: dict[str, Any] = admitted.json()
    return answer


SHIPPED_VERSION = "demo-2024.1-county"
THIS_YEARS_VERSION = "demo-2025.1-county"
NEXT_YEARS_VERSION = "demo-2026.1-county"
# This year's version adds a year-end top-up (二次救助): half of a covered person's share of
# the year's bills above 1,000 yuan, from medical aid, run once the year is over.
YEAR_END_TOP_UP = """
year_end:
  - code: year_end_top_up
    name: 年度个人自付超1000元部分补助50%
    fund_type: medical_aid
    applies_to: {categories: [registered_poor]}
    counts: total
    deductible: "1000.00"
    ratio: "0.50"
"""


def _county_version(version: str, starts: str, extra: str = "") -> str:
    """The shipped demo county's text as another version of the county, from `starts`."""
    return (
        (files("service") / "policy" / "data" / "demo_990102_county.yaml")
        .read_text("utf-8")
        .replace(SHIPPED_VERSION, version)
        .replace("effective_from: 2024-01-01", f"effective_from: {starts}")
    ) + extra


async def _load_policy(
    client: httpx.AsyncClient, admin: dict[str, str], text: str, reason: str
) -> None:
    """A successor version by API: it closes the county's open one the day before it starts."""
    loaded = await client.post(
        "/v1/policies",
        json={"source_text": text, "source_name": "county.yaml", "reason": reason},
        headers=admin,
    )
    assert loaded.status_code == 201, loaded.text
    history = await client.get("/v1/policies/history", headers=admin)
    assert history.status_code == 200, history.text
    assert reason in history.text


async def _succeed_policy(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """Next year's county version, loaded in December: it closes this one on 31 December."""
    text = _county_version(NEXT_YEARS_VERSION, f"{YEAR + 1}-01-01").replace(
        'deductible_by_level: {primary: "50.00"}', 'deductible_by_level: {primary: "30.00"}'
    )
    await _load_policy(client, admin, text, "县医保局2026年文件")


CLEARED = {"F99-BASIC": "basic_insurance", "F99-CRITICAL": "critical_illness"}


async def _funds_owe(client: httpx.AsyncClient, auditor: dict[str, str], county: County) -> None:
    """What each fund owes the hospital is exactly what its layers paid in the settlements still
    active: a reversal takes its amount back out. Clearing counts a settlement in the month it
    was made (when the hospital advanced the money), so this year's stays, settled today, are
    all in today's open statement; closing months is tests/clearing's state machine."""
    period = datetime.now(CHINA_TZ).strftime("%Y-%m")
    for fund, fund_type in CLEARED.items():
        got = await client.get(
            "/v1/clearing/statement",
            params={"fund_code": fund, "hospital_code": f.COUNTY_HOSPITAL, "period": period},
            headers=auditor,
        )
        assert got.status_code == 200, got.text
        statement = got.json()
        active = sum(a.get(fund_type, 0) for a in county.fund_amounts.values())
        assert _fen(statement["fund_own_amt"]) == active > 0, (fund, statement["fund_own_amt"])
        paying = [a for a in county.fund_amounts.values() if a.get(fund_type)]
        assert statement["setl_cnt"] == len(paying)  # a fund's lines: where it paid


async def _every_violation(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    """Every page of the ledger query, as a county office reads it."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            "/v1/violations",
            params={**params, "page_size": "20", **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


async def _month_end(
    client: httpx.AsyncClient, desk: dict[str, str], auditor: dict[str, str], m: int
) -> None:
    """The hospital starts rectifying its open findings; the auditor verifies, sending the
    first one of the quarter back once (a second rectification)."""
    for v in await _every_violation(client, desk, status="open"):
        for to in ("rectifying", "rectified"):
            moved = await client.post(
                f"/v1/violations/{v['id']}/transitions",
                json={"to_status": to, "note": "押金已退还"},
                headers=desk,
            )
            assert moved.status_code == 201, moved.text
    for i, v in enumerate(await _every_violation(client, auditor, status="rectified")):
        if i == 0 and m % 3 == 1:
            back = await client.post(
                f"/v1/violations/{v['id']}/transitions",
                json={"to_status": "rectifying", "note": "退款凭证不全"},
                headers=auditor,
            )
            assert back.status_code == 201, back.text
            again = await client.post(
                f"/v1/violations/{v['id']}/transitions",
                json={"to_status": "rectified", "note": "补交退款凭证"},
                headers=desk,
            )
            assert again.status_code == 201, again.text
        verified = await client.post(
            f"/v1/violations/{v['id']}/transitions",
            json={"to_status": "verified", "note": "现场核验"},
            headers=auditor,
        )
        assert verified.status_code == 201, verified.text


async def _year_end(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    auditor: dict[str, str],
    neighbour: dict[str, str],
    county: County,
    persons: dict[str, Person],
    settlement_of: dict[str, tuple[str, int]],
) -> None:
    # every deposit from an eligible patient is a DEPOSIT_CHARGED finding, all verified by now
    items = await _every_violation(client, auditor)
    by_rule = Counter(v["rule_code"] for v in items)
    assert by_rule["DEPOSIT_CHARGED"] == county.deposits_from_eligible
    assert {v["status"] for v in items} <= {"verified"}
    assert county.unknown_answers > 0  # the outage months were exercised

    # the scoreboard and the export say what the ledger says
    board = (
        await client.get(
            "/v1/violations/scoreboard",
            params={"from": f"{YEAR - 1}-01-01", "to": f"{YEAR + 1}-12-31"},
            headers=auditor,
        )
    ).json()
    assert board["total_count"] == len(items)
    points = sum(Decimal(v["points"]) for v in items)
    assert Decimal(str(board["total_points"])) == points
    exported = await client.get("/v1/violations/export.csv", headers=auditor)
    assert exported.status_code == 200
    rows = [r for r in csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))) if r]
    ids = {str(v["id"]) for v in items}
    assert ids <= {cell for row in rows for cell in row}

    # the chain verifies, and the neighbour county's auditor sees nothing of this county
    verified = await client.get("/v1/violations/verify", headers=auditor)
    assert verified.status_code == 200
    assert verified.json()["intact"] is True, str(verified.json()["first_broken"])
    assert (await client.get("/v1/violations", headers=neighbour)).json()["items"] == []
    visit, (name, sid) = next(iter(settlement_of.items()))
    assert (await client.get(f"/v1/settlements/{sid}", headers=neighbour)).status_code == 404

    # caps: summed per person over the year, never above what the first slip revealed
    per_person: dict[str, int] = defaultdict(int)
    for (who, year, _), active in county.used.items():
        assert year == YEAR
        cap = county.caps[(who, year, _)]
        assert sum(active.values()) <= cap
        per_person[who] += sum(active.values())
    assert per_person  # some layer of the shipped policy is capped

    # New Year: the same person's first stay of the next year starts with the whole cap again
    name = max(per_person, key=lambda p: per_person[p])
    person = persons[name]
    visit = f"V-NEXT-{name}"
    await _admit(client, desk, visit, person, f"{YEAR + 1}-01-05T09:00:00+08:00")
    slip = await f.settle(
        client,
        desk,
        f.settlement_request(
            visit,
            his=f"S-{visit}",
            discharged_at=f"{YEAR + 1}-01-10T10:00:00+08:00",
            bill=f.bill("18000.00"),
        ),
    )
    _check_slip(slip)
    _book_funds(county, slip)
    assert slip["year"] == YEAR + 1
    assert slip["policy"]["version"] == NEXT_YEARS_VERSION
    for layer in slip["layers"]:
        old = county.caps.get((name, YEAR, layer["code"]))
        if old is not None and layer["cap_left"] is not None:
            assert _fen(layer["cap_left"]) + _fen(layer["amount"]) == old


async def _year_end_top_up(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    auditor: dict[str, str],
    neighbour: dict[str, str],
    county: County,
) -> None:
    """The year over, the county runs its year-end top-up: a dry run, the booking, a second run
    that books nothing, then a late reversal of one of the year's stays, whose difference the
    next run books as a new row, by hand: half of the share it took out, above the floor."""
    year = {"region_code": f.COUNTY, "plan_year": YEAR}

    async def run(dry_run: bool) -> dict[str, Any]:
        answer = await client.post(
            "/v1/year-end/runs", json={**year, "dry_run": dry_run}, headers=auditor
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def booked() -> tuple[int, list[dict[str, Any]]]:
        got = await client.get("/v1/year-end/payments", params=year, headers=auditor)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["next_after"] is None  # one page holds the county's year
        total = sum(_fen(x["total"]) for x in body["funds"])
        assert total == sum(_fen(p["amount"]) for p in body["payments"])
        return total, body["payments"]

    refused = await client.post("/v1/year-end/runs", json=year, headers=neighbour)
    assert refused.status_code == 404, refused.text  # another county's auditor
    assert (await client.post("/v1/year-end/runs", json=year, headers=desk)).status_code == 403

    dry = await run(dry_run=True)
    assert dry["rows_booked"] == 0
    assert (await booked())[0] == 0  # a dry run stores nothing
    owed = _fen(dry["booked_now"])
    assert owed > 0  # the year's shares passed the floor for someone
    assert [x["fund_type"] for x in dry["funds"]] == ["medical_aid"]

    first = await run(dry_run=False)
    assert first["booked_now"] == dry["booked_now"]
    total, rows = await booked()
    assert total == owed
    assert {r["policy_version"] for r in rows} == {THIS_YEARS_VERSION}
    assert _fen((await run(dry_run=False))["booked_now"]) == 0  # a second run books nothing

    # A late correction: the stay of a paid person with the largest share is reversed.
    row = max(rows, key=lambda r: _fen(r["self_pay"]))
    slips = {
        sid: (await client.get(f"/v1/settlements/{sid}", headers=desk)).json()
        for sid in row["settlement_ids"]
    }
    sid, slip = max(slips.items(), key=lambda kv: _fen(kv[1]["totals"]["patient_pays"]))
    reversed_ = await client.post(
        f"/v1/settlements/{sid}/reversal",
        json={"his_reversal_id": f"R-YE-{sid}", "reason": "年终复核：费用退回"},
        headers=desk,
    )
    assert reversed_.status_code == 201, reversed_.text
    county.fund_amounts.pop(sid)
    left = _fen(row["self_pay"]) - _fen(slip["totals"]["patient_pays"])
    floor = _fen(row["deductible"])
    now = (left - floor + 1) // 2 if left > floor else 0  # 50%, half a fen rounds up
    adjusted = await run(dry_run=False)
    assert _fen(adjusted["booked_now"]) == now - _fen(row["amount"])
    assert adjusted["rows_booked"] == 1
    total, rows = await booked()
    assert total == owed + now - _fen(row["amount"])
    fresh = await run(dry_run=True)  # what the year owes, computed again from nothing booked
    assert sum(_fen(x["year_total"]) for x in fresh["funds"]) == total
    assert _fen(fresh["booked_now"]) == 0
