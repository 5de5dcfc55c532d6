"""A county's year through the interfaces a HIS already speaks (NHSA messages and FHIR), beside
the JSON API: two hospitals, twice a month from January to the turn of the year, each stay
admitted by 2401, previewed, settled through one of the three, sometimes sent again, sometimes
reversed through another one (some in a later month: out of order), with the registry down for
a while. A seeded simulation (time-machine at fixed instants, ADR 0031).

After every act: the answer of the interface agrees to the fen with the JSON API's reading of
the same settlement, a preview of the bill agrees with its settlement, a resend answers the same
settlement, and the other hospital sees none of it through any interface. After each month and
the year: 3201 balances with the totals the simulation computed from the answers it got. No 5xx
at any step.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
import time_machine

from service.china_time import CHINA_TZ
from service.fhir import systems
from tests import factories as f

YEAR = 2026
SEED = 2026
PEOPLE = 8
NEIGHBOUR_COUNTY = "990103"


def _fen(yuan: str | Decimal | float) -> int:
    return int(Decimal(str(yuan)) * 100)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


@dataclass
class Desk:
    """One hospital's desk: its key, its code, its county, and what its answers add up to."""

    headers: dict[str, str]
    code: str
    county: str
    # China day -> [bill fen, funds fen (bill less patient), count], from the answers received
    days: dict[date, list[int]] = field(default_factory=dict)
    settled: list[tuple[str, int]] = field(default_factory=list)  # (visit, settlement id) open

    def book(self, day: date, bill: int, funds: int, count: int) -> None:
        row = self.days.setdefault(day, [0, 0, 0])
        row[0] += bill
        row[1] += funds
        row[2] += count

    def totals(self, first: date, last: date) -> tuple[int, int, int]:
        rows = [v for d, v in self.days.items() if first <= d <= last]
        return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(datetime(YEAR, 1, 5, 2, 0, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=f.REGISTRY_URL, assert_all_called=False) as router:
        yield router


class Year:
    def __init__(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.serial = 0
        self.seen: Counter[str] = Counter()

    def now_china(self) -> datetime:
        return datetime.now(UTC).astimezone(CHINA_TZ)

    def envelope(self, desk: Desk, infno: str, payload: dict[str, Any], **over: Any) -> dict:
        self.serial += 1
        values = {
            "infno": infno,
            "msgid": f"{desk.code}{self.serial:018d}"[:30],
            "mdtrtarea_admvs": desk.county,
            "insuplc_admdvs": f.COUNTY,
            "recer_sys_code": "YBXT",
            "infver": "V1.0",
            "opter": "0042",
            "opter_name": "收费员",
            "inf_time": self.now_china().strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": desk.code,
            "input": payload,
        }
        return values | over

    async def nhsa(self, desk: Desk, envelope: dict[str, Any]) -> dict[str, Any]:
        answer = await self.client.post("/nhsa", json=envelope, headers=desk.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        self.seen[f"nhsa {envelope['infno']} {body['infcode']}"] += 1
        return body

    async def fhir(self, desk: Desk, path: str, resource: dict[str, Any]) -> httpx.Response:
        answer = await self.client.post(
            f"/fhir/{path}",
            json=resource,
            headers={**desk.headers, "Content-Type": systems.FHIR_JSON},
        )
        self.seen[f"fhir {path} {answer.status_code}"] += 1
        return answer

    async def stored(self, desk: Desk, settlement_id: int | str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/settlements/{settlement_id}", headers=desk.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def _bill(rng: random.Random) -> tuple[int, int]:
    """(in-policy, full self-pay) in fen: a stay of 1,000 to 60,000 yuan."""
    total = rng.randrange(1000_00, 60000_00, 1)
    outside = rng.choice([0, rng.randrange(0, total // 10)])
    return total - outside, outside


def _data_2304(visit: str, in_policy: int, outside: int, **extra: Any) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": "",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "",
            "mdtrt_id": visit,
            "medfee_sumamt": _yuan(in_policy + outside),
            "inscp_scp_amt": _yuan(in_policy),
            "fulamt_ownpay_amt": _yuan(outside),
            "overlmt_selfpay": "0.00",
            "preselfpay_amt": "0.00",
            "mid_setl_flag": "0",
            "acct_used_flag": "0",
            **extra,
        }
    }


def _claim(
    desk: Desk, visit: str, in_policy: int, outside: int, use: str, key: str | None
) -> dict[str, Any]:
    now = datetime.now(UTC).astimezone(CHINA_TZ).isoformat(timespec="seconds")
    lines = [("in-policy", in_policy), ("full-self-pay", outside)]
    resource: dict[str, Any] = {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": systems.CLAIM_TYPE, "code": "institutional"}]},
        "use": use,
        "patient": {"display": "张*"},
        "billablePeriod": {"end": now},
        "created": now,
        "provider": {"identifier": {"system": systems.HOSPITAL, "value": desk.code}},
        "priority": {"coding": [{"system": systems.PROCESS_PRIORITY, "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "城乡居民医保"}}],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"system": systems.BILL_PART, "code": code}]},
                "net": {"value": float(Decimal(fen) / 100), "currency": "CNY"},
                "encounter": [{"identifier": {"system": systems.VISIT, "value": visit}}],
            }
            for n, (code, fen) in enumerate(lines, start=1)
        ],
    }
    if key is not None:
        resource["identifier"] = [{"system": "urn:his:settlement", "value": key}]
    return resource


def _fhir_totals(body: dict[str, Any]) -> dict[str, int]:
    return {t["category"]["coding"][0]["code"]: _fen(t["amount"]["value"]) for t in body["total"]}


def assert_same_settlement(stored: dict[str, Any], figures: dict[str, int]) -> None:
    """The interface's answer and the JSON API's reading of the same settlement, to the fen."""
    assert _fen(stored["medfee_sumamt"]) == figures["bill"]
    assert _fen(stored["fund_pay_sumamt"]) == figures["funds"]
    assert _fen(stored["psn_part_amt"]) == figures["patient"]
    assert figures["funds"] + figures["patient"] == figures["bill"]


def _figures_of_setlinfo(info: dict[str, Any]) -> dict[str, int]:
    return {
        "bill": _fen(info["medfee_sumamt"]),
        "funds": _fen(info["fund_pay_sumamt"]),
        "patient": _fen(info["psn_part_amt"]),
    }


async def _admit(year: Year, desk: Desk, visit: str, id_number: str) -> None:
    admitted = (year.now_china() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    node = {
        "mdtrtinfo": {
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": id_number,
            "begntime": admitted,
            "med_type": "21",
            "ipt_no": visit,
            "exp_content": {"psn_name": "张三"},
        }
    }
    envelope = year.envelope(desk, "2401", node)
    first = await year.nhsa(desk, envelope)
    assert first["infcode"] == 0, first["err_msg"]
    if year.rng.random() < 0.3:  # the answer was lost: the same message again
        again = await year.nhsa(desk, envelope)
        assert again["infcode"] == 0, again["err_msg"]
        assert again["output"]["settlecheck"]["replayed"] is True


async def _preview(year: Year, desk: Desk, visit: str, in_policy: int, outside: int) -> int:
    """The patient's share of the bill, previewed through NHSA 2303 and a FHIR
    predetermination: the two agree."""
    body = await year.nhsa(desk, year.envelope(desk, "2303", _data_2304(visit, in_policy, outside)))
    assert body["infcode"] == 0, body["err_msg"]
    by_nhsa = _figures_of_setlinfo(body["output"]["setlinfo"])
    answer = await year.fhir(
        desk, "Claim", _claim(desk, visit, in_policy, outside, "predetermination", None)
    )
    assert answer.status_code == 200, answer.text
    totals = _fhir_totals(answer.json())
    assert (totals["submitted"], totals["benefit"], totals["copay"]) == (
        by_nhsa["bill"],
        by_nhsa["funds"],
        by_nhsa["patient"],
    )
    return by_nhsa["patient"]


async def _settle(
    year: Year, desk: Desk, visit: str, in_policy: int, outside: int, channel: str
) -> tuple[int, dict[str, int]]:
    """Settle through `channel`, perhaps send it again; (settlement id, its figures)."""
    key = f"JS-{visit}"
    resend = year.rng.random() < 0.3
    if channel == "nhsa":
        envelope = year.envelope(desk, "2304", _data_2304(visit, in_policy, outside))
        if year.rng.random() < 0.5:  # keyed on medins_setl_id rather than the msgid
            envelope["input"]["data"]["medins_setl_id"] = key
        body = await year.nhsa(desk, envelope)
        assert body["infcode"] == 0, body["err_msg"]
        output = body["output"]
        if resend:
            again = await year.nhsa(desk, envelope)
            assert again["infcode"] == 0, again["err_msg"]
            assert again["output"]["setlinfo"] == output["setlinfo"]
            assert again["output"]["settlecheck"]["replayed"] is True
        return int(output["settlecheck"]["id"]), _figures_of_setlinfo(output["setlinfo"])
    if channel == "fhir":
        resource = _claim(desk, visit, in_policy, outside, "claim", key)
        answer = await year.fhir(desk, "Claim", resource)
        assert answer.status_code == 201, answer.text
        if resend:
            again = await year.fhir(desk, "Claim", resource)
            assert again.status_code == 200, again.text
            assert again.json()["id"] == answer.json()["id"]
        totals = _fhir_totals(answer.json())
        figures = {
            "bill": totals["submitted"],
            "funds": totals["benefit"],
            "patient": totals["copay"],
        }
        return int(answer.json()["id"]), figures
    request = {
        "visit_id": visit,
        "his_settlement_id": key,
        "discharged_at": year.now_china().isoformat(timespec="seconds"),
        "bill": {
            "total": _yuan(in_policy + outside),
            "in_policy": _yuan(in_policy),
            "out_of_policy": _yuan(outside),
        },
    }
    answer = await year.client.post("/v1/settlements", json=request, headers=desk.headers)
    assert answer.status_code == 201, answer.text
    if resend:
        again = await year.client.post("/v1/settlements", json=request, headers=desk.headers)
        assert again.json()["id"] == answer.json()["id"]
    body = answer.json()
    return int(body["id"]), _figures_of_setlinfo(body)


async def _reverse(year: Year, desk: Desk, visit: str, settlement_id: int, channel: str) -> None:
    """Reverse through `channel`, then once more through the same one (the same reversal) and
    through another with another reason (refused alike everywhere)."""

    async def once(through: str, reason: str) -> tuple[str, int | None]:
        if through == "nhsa":
            payload = {"data": {"mdtrt_id": visit, "setl_id": str(settlement_id)}}
            body = await year.nhsa(desk, year.envelope(desk, "2305", payload))
            if body["infcode"] != 0:
                return body["err_msg"].split("]")[0].strip("["), None
            info = body["output"]["setlinfo"]
            assert _fen(info["medfee_sumamt"]) < 0  # the compensating record, negated
            return "ok", body["output"]["settlecheck"]["reversal"]["id"]
        if through == "fhir":
            task = {
                "resourceType": "Task",
                "identifier": [{"system": "urn:his:reversal", "value": f"R-{settlement_id}"}],
                "status": "requested",
                "intent": "order",
                "code": {"coding": [{"system": systems.FINANCIAL_TASK, "code": "cancel"}]},
                "focus": {"reference": f"ClaimResponse/{settlement_id}"},
                "reasonCode": {"text": reason},
            }
            answer = await year.fhir(desk, "Task", task)
            if answer.status_code != 201:
                return answer.json()["issue"][0]["details"]["coding"][0]["code"], None
            return "ok", None
        answer = await year.client.post(
            f"/v1/settlements/{settlement_id}/reversal",
            json={"reason": reason, "his_reversal_id": f"R-{settlement_id}"},
            headers=desk.headers,
        )
        if answer.status_code not in (200, 201):
            return answer.json()["code"], None
        return "ok", answer.json()["reversal"]["id"]

    outcome, _ = await once(channel, "2305 结算撤销")
    assert outcome == "ok", outcome
    again, _ = await once(channel, "2305 结算撤销")
    assert again == "ok", again  # the same reversal, answered again
    other = year.rng.choice([c for c in ("nhsa", "fhir", "json") if c != channel])
    refused, _ = await once(other, "another reason")
    year.seen[f"reversed through {channel}"] += 1
    # 2305 and a Task name the reversal by the settlement, as the first did, only with the
    # first's reason: each interface refuses another as the JSON API does
    if refused != "ok":
        assert refused == "settlement_already_reversed", refused


async def assert_hidden_from(year: Year, other: Desk, visit: str, settlement_id: int) -> None:
    """Another hospital's key sees nothing of it, through any interface."""
    body = await year.nhsa(
        other,
        year.envelope(other, "2305", {"data": {"mdtrt_id": visit, "setl_id": str(settlement_id)}}),
    )
    assert body["err_msg"].startswith("[settlement_not_found]"), body
    body = await year.nhsa(other, year.envelope(other, "2303", _data_2304(visit, 100_00, 0)))
    assert body["err_msg"].startswith("[visit_not_found]"), body
    read = await year.client.get(f"/fhir/ClaimResponse/{settlement_id}", headers=other.headers)
    assert read.status_code == 404, read.text
    read = await year.client.get(f"/v1/settlements/{settlement_id}", headers=other.headers)
    assert read.status_code == 404, read.text


async def _reconcile(year: Year, desk: Desk, first: date, last: date) -> None:
    bill, funds, count = desk.totals(first, last)
    payload = {
        "data": {
            "insutype": "390",
            "clr_type": "21",
            "setl_optins": desk.county,
            "stmt_begndate": first.isoformat(),
            "stmt_enddate": last.isoformat(),
            "medfee_sumamt": _yuan(bill),
            "fund_pay_sumamt": _yuan(funds),
            "acct_pay": "0.00",
            "fixmedins_setl_cnt": str(count),
        }
    }
    body = await year.nhsa(desk, year.envelope(desk, "3201", payload))
    assert body["infcode"] == 0, body["err_msg"]
    info = body["output"]["stmtinfo"]
    assert info["stmt_rslt"] == "0", (first, last, info["stmt_rslt_dscr"])


def _instants() -> list[datetime]:
    """Twice a month at 10:00 China time, then 23:50 on 31 December and 00:10 on 1 January."""
    days = [datetime(YEAR, m, d, 10, 0, tzinfo=CHINA_TZ) for m in range(1, 13) for d in (5, 20)]
    return days + [
        datetime(YEAR, 12, 31, 23, 50, tzinfo=CHINA_TZ),
        datetime(YEAR + 1, 1, 1, 0, 10, tzinfo=CHINA_TZ),
    ]


@pytest.mark.slow
async def test_a_county_year_through_nhsa_and_fhir_agrees_with_the_json_api(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
) -> None:
    async def no_server_error(response: httpx.Response) -> None:
        assert response.status_code < 500, (response.request.url, response.status_code)

    client.event_hooks["response"].append(no_server_error)
    rng = random.Random(SEED)
    year = Year(client, rng)
    county = Desk(hospital_headers, f.COUNTY_HOSPITAL, f.COUNTY)
    neighbour = Desk(other_hospital_headers, f.NEIGHBOUR_HOSPITAL, NEIGHBOUR_COUNTY)
    registry_down = False

    def answer(request: httpx.Request) -> httpx.Response:
        if registry_down:
            return httpx.Response(503)
        return httpx.Response(200, json=f.registry_person("registered_poor"))

    people = [f.resident_id(seq=700 + n) for n in range(PEOPLE)]
    for id_number in people:
        f.person_route(registry, id_number).mock(side_effect=answer)

    late: list[tuple[Desk, str, int]] = []  # settlements to reverse in a later month
    channels: Counter[str] = Counter()
    months: set[tuple[int, int]] = set()
    for step, instant in enumerate(_instants()):
        clock.move_to(instant.astimezone(UTC))
        registry_down = instant.month in (6, 7) and instant.year == YEAR  # a summer outage
        for turn in range(2):
            desk, other = (county, neighbour) if rng.random() < 0.7 else (neighbour, county)
            visit = f"ZY{step:02d}{turn}"
            await _admit(year, desk, visit, people[(2 * step + turn) % PEOPLE])
            in_policy, outside = _bill(rng)
            patient = await _preview(year, desk, visit, in_policy, outside)
            channel = rng.choice(["nhsa", "fhir", "json"])
            channels[channel] += 1
            settlement_id, figures = await _settle(year, desk, visit, in_policy, outside, channel)
            stored = await year.stored(desk, settlement_id)
            assert_same_settlement(stored, figures)
            assert figures["patient"] == patient  # as previewed a moment before
            day = instant.date()
            desk.book(day, figures["bill"], figures["funds"], 1)
            await assert_hidden_from(year, other, visit, settlement_id)

            fate = rng.random()
            if fate < 0.25:  # reversed now, through another interface than the settlement's
                through = rng.choice(["nhsa", "fhir", "json"])
                await _reverse(year, desk, visit, settlement_id, through)
                desk.book(day, -figures["bill"], -figures["funds"], -1)
            elif fate < 0.4:
                late.append((desk, visit, settlement_id))
        if late and rng.random() < 0.5:  # an earlier settlement reversed now, out of order
            desk, visit, settlement_id = late.pop(rng.randrange(len(late)))
            stored = await year.stored(desk, settlement_id)
            await _reverse(year, desk, visit, settlement_id, rng.choice(["nhsa", "fhir", "json"]))
            desk.book(
                instant.date(), -_fen(stored["medfee_sumamt"]), -_fen(stored["fund_pay_sumamt"]), -1
            )
        months.add((instant.year, instant.month))
        if instant.day == 20:  # the month's statement, and the year's so far
            for desk in (county, neighbour):
                first = date(instant.year, instant.month, 1)
                await _reconcile(year, desk, first, instant.date())
                await _reconcile(year, desk, date(YEAR, 1, 1), instant.date())

    for desk in (county, neighbour):
        await _reconcile(year, desk, date(YEAR, 1, 1), date(YEAR, 12, 31))
        await _reconcile(year, desk, date(YEAR + 1, 1, 1), date(YEAR + 1, 1, 1))
    # the simulation reached what it set out to: every interface, both hospitals, the year end
    assert min(channels.values()) >= 5, channels
    assert county.days
    assert neighbour.days
    assert (YEAR + 1, 1) in months
    assert all(year.seen[f"reversed through {c}"] >= 2 for c in ("nhsa", "fhir", "json"))
