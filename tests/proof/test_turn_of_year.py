"""The turn of the year as a county lives it (2026-12-31 → 2027-01-01, China time), through the
API with the clock moved to each instant that matters: in China the new year begins at 16:00
UTC on 31 December, while UTC is still in the old one.

Each test travels the whole process (time-machine) to fixed instants around that midnight, so
it holds whenever it runs (ADR 0031): the dates it names are those of the clock it set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
import time_machine

from service.fhir import systems
from tests import factories as f
from tests.factories import KeyFactory

OLD, NEW = 2026, 2027
# 23:59 and 00:00 either side of China's midnight, as UTC instants.
LAST_MINUTE = datetime(OLD, 12, 31, 15, 59, tzinfo=UTC)
MIDNIGHT = datetime(OLD, 12, 31, 16, 0, tzinfo=UTC)
NEXT_VERSION = "demo-2027.1-county"


def _at(day: str, hm: str = "10:00") -> str:
    """A China-time instant as the HIS writes it."""
    return f"{day}T{hm}:00+08:00"


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((cents + "00")[:2]))


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The process's clock, moved by the test (`clock.move_to(...)`), ticking from there.
    It starts in mid-December, when the county prepares the year end."""
    with time_machine.travel(datetime(OLD, 12, 10, 2, 0, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=f.REGISTRY_URL, assert_all_called=False) as router:
        yield router


def _person(registry: respx.MockRouter, seq: int, **record: Any) -> tuple[str, respx.Route]:
    id_number = f.resident_id(seq=seq)
    route = f.person_route(registry, id_number).mock(
        return_value=httpx.Response(200, json=f.registry_person(**record))
    )
    return id_number, route


async def _succeed(client: httpx.AsyncClient, admin: dict[str, str], text: str) -> None:
    loaded = await client.post(
        "/v1/policies",
        json={"source_text": text, "source_name": "county.yaml", "reason": "县医保局2027年文件"},
        headers=admin,
    )
    assert loaded.status_code == 201, loaded.text


NEXT_YEARS_TEXT = f"""
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 2027 年度
version: "{NEXT_VERSION}"
effective_from: {NEW}-01-01
effective_to: null
sources: ["test"]
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "30.00"}}
controls:
  out_of_policy_limit: {{primary: "0.02"}}
"""


async def _admit(
    client: httpx.AsyncClient, desk: dict[str, str], visit: str, id_number: str, at: str
) -> dict[str, Any]:
    answer = await client.post(
        "/v1/admissions",
        json=f.admission_request(visit_id=visit, id_number=id_number, admitted_at=at),
        headers=desk,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_admissions_either_side_of_china_midnight_take_their_days_version(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    shipped = (await client.get("/v1/policies", headers=admin_headers)).json()
    this_version = next(
        v["version"] for v in shipped if v["region_code"] == f.COUNTY and v["effective_to"] is None
    )
    await _succeed(client, admin_headers, NEXT_YEARS_TEXT)
    late, _ = _person(registry, 501)
    early, _ = _person(registry, 502)

    clock.move_to(LAST_MINUTE)
    before = await _admit(client, hospital_headers, "NY-1", late, _at(f"{OLD}-12-31", "23:59"))
    clock.move_to(MIDNIGHT)
    # 16:00 UTC on 31 December is 00:00 on 1 January in China
    after = await _admit(client, hospital_headers, "NY-2", early, f"{OLD}-12-31T16:00:00Z")
    assert before["policy"]["version"] == this_version
    assert after["policy"]["version"] == NEXT_VERSION
    assert before["pay_after_treatment"]["eligible"] is True
    assert after["pay_after_treatment"]["eligible"] is True

    # settled in January, both stays are 2027's (discharge year) under the new version
    clock.move_to(datetime(NEW, 1, 5, 2, 0, tzinfo=UTC))
    for visit, his in (("NY-1", "S-NY-1"), ("NY-2", "S-NY-2")):
        slip = await _discharge(
            client, hospital_headers, visit, _at(f"{NEW}-01-04"), ("3000.00", "0.00"), his=his
        )
        assert slip["year"] == NEW
        assert slip["policy"]["version"] == NEXT_VERSION


async def test_a_status_answered_on_31_december_is_asked_again_on_1_january(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """A registry answer holds for the China day it was given on, however long the cache
    keeps it: categories are often granted for a calendar year, and the registry's answer of
    23:59 (valid to 31 December) says nothing of the year it renews them for at midnight.
    From the cache it would make a covered patient "not eligible" on 1 January."""
    await _succeed(client, admin_headers, NEXT_YEARS_TEXT)
    id_number, route = _person(registry, 511, valid_to=f"{OLD}-12-31")

    clock.move_to(LAST_MINUTE)
    first = await client.get(f"/v1/persons/{id_number}/status", headers=hospital_headers)
    assert first.status_code == 200, first.text
    assert first.json()["on"] == f"{OLD}-12-31"
    assert first.json()["pay_after_treatment"]["eligible"] is True
    again = await client.get(f"/v1/persons/{id_number}/status", headers=hospital_headers)
    assert again.json()["source"]["kind"] == "cache"  # the same day: from memory

    clock.move_to(MIDNIGHT)
    route.mock(
        return_value=httpx.Response(200, json=f.registry_person(valid_to=f"{NEW}-12-31"))
    )  # the registry renewed the category for 2027
    second = await client.get(f"/v1/persons/{id_number}/status", headers=hospital_headers)
    assert second.status_code == 200, second.text
    body = second.json()
    assert route.call_count == 2
    assert body["on"] == f"{NEW}-01-01"
    assert body["source"]["kind"] == "registry"
    assert body["pay_after_treatment"]["eligible"] is True
    assert body["policy"]["version"] == NEXT_VERSION
    admitted = await _admit(
        client, hospital_headers, "NY-C1", id_number, _at(f"{NEW}-01-01", "00:00")
    )
    assert admitted["pay_after_treatment"]["eligible"] is True
    assert admitted["policy"]["version"] == NEXT_VERSION


async def test_a_lapsed_category_from_the_registry_stops_covering_at_china_midnight(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
) -> None:
    id_number, _ = _person(registry, 512, valid_to=f"{OLD}-12-31")
    clock.move_to(LAST_MINUTE)
    before = await _admit(
        client, hospital_headers, "NY-L1", id_number, _at(f"{OLD}-12-31", "23:59")
    )
    assert before["pay_after_treatment"]["eligible"] is True
    clock.move_to(MIDNIGHT)
    after = await _admit(client, hospital_headers, "NY-L2", id_number, f"{OLD}-12-31T16:00:00Z")
    assert after["covered"] is False
    assert after["pay_after_treatment"]["eligible"] is False


def _basic(slip: dict[str, Any]) -> dict[str, Any]:
    return next(layer for layer in slip["layers"] if layer["code"] == "basic_insurance")


async def _discharge(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    visit: str,
    at: str,
    bill: tuple[str, str],
    *,
    his: str | None = None,
    mid_settlement: bool = False,
) -> dict[str, Any]:
    """The settlement of `visit` discharged at `at` (China time) for `bill` (in and out of
    policy), HIS id `his` (default S-<visit>)."""
    request = f.settlement_request(
        visit,
        his=his or f"S-{visit}",
        discharged_at=at,
        bill=f.bill(*bill),
        mid_settlement=mid_settlement,
    )
    return await f.settle(client, desk, request)


async def _stay(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    visit: str,
    id_number: str,
    admitted: str,
    discharged: str,
    in_policy: str,
) -> dict[str, Any]:
    await _admit(client, desk, visit, id_number, _at(admitted, "08:00"))
    return await _discharge(client, desk, visit, _at(discharged), (in_policy, "0.00"))


async def _reverse(client: httpx.AsyncClient, desk: dict[str, str], sid: int) -> None:
    answer = await client.post(
        f"/v1/settlements/{sid}/reversal",
        json={"his_reversal_id": f"R-{sid}", "reason": "费用录入有误"},
        headers=desk,
    )
    assert answer.status_code == 201, answer.text


async def test_a_cap_used_in_december_is_fresh_in_january_and_a_reversal_restores_2026(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
) -> None:
    desk = hospital_headers
    id_number, _ = _person(registry, 521)
    clock.move_to(datetime(OLD, 12, 20, 4, 0, tzinfo=UTC))
    december = await _stay(
        client, desk, "CAP-1", id_number, f"{OLD}-12-01", f"{OLD}-12-20", "250000.00"
    )
    assert december["year"] == OLD
    cap = _fen(_basic(december)["cap_left"]) + _fen(_basic(december)["amount"])
    assert _basic(december)["cap_left"] == "0.00"  # the 2026 cap is used up

    clock.move_to(datetime(NEW, 1, 2, 4, 0, tzinfo=UTC))
    january = await _stay(
        client, desk, "CAP-2", id_number, f"{NEW}-01-01", f"{NEW}-01-02", "20000.00"
    )
    assert january["year"] == NEW
    used = _fen(_basic(january)["amount"])
    assert used > 0
    assert _fen(_basic(january)["cap_left"]) == cap - used

    await _reverse(client, desk, december["id"])  # in January, a December settlement
    late = await _stay(client, desk, "CAP-3", id_number, f"{OLD}-12-22", f"{OLD}-12-28", "20000.00")
    assert late["year"] == OLD  # a December discharge settled late is still 2026's
    assert _fen(_basic(late)["cap_left"]) == cap - _fen(_basic(late)["amount"])
    again = await _stay(
        client, desk, "CAP-4", id_number, f"{NEW}-01-02", f"{NEW}-01-02", "20000.00"
    )
    assert again["year"] == NEW
    assert _fen(_basic(again)["cap_left"]) == cap - used - _fen(_basic(again)["amount"])


async def _statement(
    client: httpx.AsyncClient, headers: dict[str, str], period: str
) -> dict[str, Any]:
    got = await client.get(
        "/v1/clearing/statement",
        params={"fund_code": "F99-BASIC", "hospital_code": f.COUNTY_HOSPITAL, "period": period},
        headers=headers,
    )
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def _close(client: httpx.AsyncClient, headers: dict[str, str], period: str) -> httpx.Response:
    return await client.post(
        "/v1/clearing/statements",
        json={"fund_code": "F99-BASIC", "hospital_code": f.COUNTY_HOSPITAL, "period": period},
        headers=headers,
    )


async def test_december_closes_on_1_january_and_a_later_reversal_is_januarys_adjustment(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    fund = await make_key("fund", fund_code="F99-BASIC", region_prefix="99")
    id_number, _ = _person(registry, 531)
    clock.move_to(datetime(OLD, 12, 31, 10, 0, tzinfo=UTC))  # 18:00 on 31 December
    slip = await _stay(
        client, hospital_headers, "CL-1", id_number, f"{OLD}-12-28", f"{OLD}-12-31", "20000.00"
    )
    owed = _basic(slip)["amount"]

    clock.move_to(LAST_MINUTE)
    early = await _close(client, auditor, f"{OLD}-12")
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "period_not_over"

    clock.move_to(MIDNIGHT)  # 00:00 on 1 January in China, still 31 December in UTC
    closed = await _close(client, auditor, f"{OLD}-12")
    assert closed.status_code == 201, closed.text
    december = closed.json()
    assert (december["status"], december["fund_own_amt"], december["setl_cnt"]) == (
        "closed",
        owed,
        1,
    )
    too_soon = await client.post(
        f"/v1/clearing/statements/{december['id']}/payments",
        json={"amount": owed, "paid_on": f"{OLD}-12-31", "reference": "BANK-1231"},
        headers=fund,
    )
    assert too_soon.status_code == 422, too_soon.text
    paid = await client.post(
        f"/v1/clearing/statements/{december['id']}/payments",
        json={"amount": owed, "paid_on": f"{NEW}-01-01", "reference": "BANK-0101"},
        headers=fund,
    )
    assert paid.status_code == 201, paid.text

    clock.move_to(datetime(NEW, 1, 3, 2, 0, tzinfo=UTC))
    await _reverse(client, hospital_headers, slip["id"])
    again = await _statement(client, auditor, f"{OLD}-12")
    assert (again["status"], again["content_hash"]) == ("closed", december["content_hash"])
    assert again["fund_own_amt"] == owed
    assert again["outstanding"] == "0.00"
    january = await _statement(client, auditor, f"{NEW}-01")
    assert january["status"] == "open"
    [line] = january["lines"]
    assert (line["kind"], line["adjustment"], line["settlement_id"]) == (
        "reversal",
        True,
        slip["id"],
    )
    assert line["fund_own_amt"] == f"-{owed}"
    assert (january["fund_own_amt"], january["setl_cnt"]) == (f"-{owed}", -1)


YEAR_END_TEXT = f"""
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 年度补足
version: "demo-2026.12-county"
effective_from: {OLD}-12-01
effective_to: null
sources: ["test"]
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "50.00"}}
controls:
  out_of_policy_limit: {{primary: "0.02"}}
year_end:
  - code: year_end_top_up
    name: 年度个人自付超1000元部分补助50%
    fund_type: medical_aid
    applies_to: {{categories: [registered_poor]}}
    counts: total
    deductible: "1000.00"
    ratio: "0.50"
"""


async def test_the_2026_top_up_runs_from_chinas_1_january_and_books_a_january_reversal(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    await _succeed(client, admin_headers, YEAR_END_TEXT)
    await _succeed(client, admin_headers, NEXT_YEARS_TEXT)
    id_number, _ = _person(registry, 541)
    clock.move_to(datetime(OLD, 12, 30, 4, 0, tzinfo=UTC))
    first = await _stay(
        client, hospital_headers, "YE-1", id_number, f"{OLD}-12-01", f"{OLD}-12-10", "60000.00"
    )
    second = await _stay(
        client, hospital_headers, "YE-2", id_number, f"{OLD}-12-20", f"{OLD}-12-30", "60000.00"
    )
    year = {"region_code": f.COUNTY, "plan_year": OLD}

    clock.move_to(LAST_MINUTE)
    early = await client.post("/v1/year-end/runs", json=year, headers=auditor)
    assert early.status_code == 422, early.text
    assert early.json()["code"] == "plan_year_not_over"

    clock.move_to(MIDNIGHT)
    run = await client.post("/v1/year-end/runs", json=year, headers=auditor)
    assert run.status_code == 200, run.text
    shares = _fen(first["totals"]["patient_pays"]) + _fen(second["totals"]["patient_pays"])
    assert shares > 100_000
    assert _fen(run.json()["booked_now"]) == (shares - 100_000 + 1) // 2
    too_early = await client.post(
        "/v1/year-end/runs", json={**year, "plan_year": NEW}, headers=auditor
    )
    assert too_early.status_code == 422, too_early.text

    clock.move_to(datetime(NEW, 1, 6, 2, 0, tzinfo=UTC))
    await _reverse(client, hospital_headers, second["id"])
    january = await _stay(  # a new stay in 2027: not the 2026 run's business
        client, hospital_headers, "YE-3", id_number, f"{NEW}-01-02", f"{NEW}-01-05", "60000.00"
    )
    assert january["year"] == NEW
    adjusted = await client.post("/v1/year-end/runs", json=year, headers=auditor)
    assert adjusted.status_code == 200, adjusted.text
    left = _fen(first["totals"]["patient_pays"])
    now = (left - 100_000 + 1) // 2 if left > 100_000 else 0
    assert _fen(adjusted.json()["booked_now"]) == now - _fen(run.json()["booked_now"])
    payments = await client.get("/v1/year-end/payments", params=year, headers=auditor)
    assert payments.status_code == 200, payments.text
    rows = payments.json()["payments"]
    assert {r["policy_version"] for r in rows} == {"demo-2026.12-county"}
    assert sum(_fen(r["amount"]) for r in rows) == now


def _envelope(infno: str, payload: dict[str, Any], inf_time: str, seq: int) -> dict[str, Any]:
    """The platform's envelope (docs/nhsa.md), sent at `inf_time` (China time)."""
    return {
        "infno": infno,
        "msgid": f"{f.COUNTY_HOSPITAL}{seq:018d}"[:30],
        "mdtrtarea_admvs": f.COUNTY,
        "insuplc_admdvs": f.COUNTY,
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter": "0042",
        "opter_name": "收费员",
        "inf_time": inf_time,
        "fixmedins_code": f.COUNTY_HOSPITAL,
        "input": payload,
    }


async def _nhsa(
    client: httpx.AsyncClient, desk: dict[str, str], envelope: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post("/nhsa", json=envelope, headers=desk)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["infcode"] == 0, body["err_msg"]
    output: dict[str, Any] = body["output"]
    return output


def _settle_2304(visit: str, setl_id: str, **exp: str) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": "P1",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "",
            "medfee_sumamt": "20500.00",
            "mdtrt_id": visit,
            "insutype": "390",
            "mid_setl_flag": "0",
            "fulamt_ownpay_amt": "500.00",
            "overlmt_selfpay": "0.00",
            "preselfpay_amt": "0.00",
            "inscp_scp_amt": "20000.00",
            "medins_setl_id": setl_id,
            **({"exp_content": exp} if exp else {}),
        }
    }


def _claim(visit: str, end: str, created: str) -> dict[str, Any]:
    """A FHIR Claim of a 20,500 yuan bill, 500 of it 全自费."""
    return {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": systems.CLAIM_TYPE, "code": "institutional"}]},
        "use": "claim",
        "patient": {"display": "张*"},
        "billablePeriod": {"start": _at(f"{OLD}-12-31", "23:55"), "end": end},
        "created": created,
        "provider": {"identifier": {"system": systems.HOSPITAL, "value": f.COUNTY_HOSPITAL}},
        "priority": {"coding": [{"system": systems.PROCESS_PRIORITY, "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "城乡居民医保"}}],
        "identifier": [{"system": "urn:his:settlement", "value": f"HIS-{visit}"}],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"system": systems.BILL_PART, "code": code}]},
                "net": {"value": amount, "currency": "CNY"},
                "encounter": [{"identifier": {"system": systems.VISIT, "value": visit}}],
            }
            for n, (code, amount) in enumerate(
                [("in-policy", "20000.00"), ("full-self-pay", "500.00")], start=1
            )
        ],
        "total": {"value": "20500.00", "currency": "CNY"},
    }


async def test_nhsa_and_fhir_settle_a_december_stay_on_1_january_in_2027(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    await _succeed(client, admin_headers, NEXT_YEARS_TEXT)
    desk = hospital_headers
    ids = {visit: _person(registry, 550 + n)[0] for n, visit in enumerate(("ZY1", "ZY2", "ZY3"))}
    clock.move_to(datetime(OLD, 12, 31, 15, 50, tzinfo=UTC))
    for n, (visit, id_number) in enumerate(ids.items()):
        admission = {
            "mdtrtinfo": {
                "psn_no": "P1",
                "insutype": "390",
                "begntime": f"{OLD}-12-31 23:50:00",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": id_number,
                "med_type": "21",
                "ipt_no": visit,
                "atddr_no": "D01",
                "adm_diag_dscr": "肺炎",
                "exp_content": {"psn_name": "张三"},
            },
            "diseinfo": [{"diag_code": "J18.9", "diag_name": "肺炎"}],
        }
        await _nhsa(client, desk, _envelope("2401", admission, f"{OLD}-12-31 23:50:00", n + 1))

    clock.move_to(datetime(OLD, 12, 31, 16, 0, 30, tzinfo=UTC))
    # 2304 without a discharge: the message's own time, 00:00:30 on 1 January
    output = await _nhsa(
        client, desk, _envelope("2304", _settle_2304("ZY1", "JS1"), f"{NEW}-01-01 00:00:30", 11)
    )
    assert output["setlinfo"]["setl_time"].startswith(f"{NEW}-01-01 00:00")
    assert output["settlecheck"]["policy"]["version"] == NEXT_VERSION
    settled = await client.get(f"/v1/settlements/{output['settlecheck']['id']}", headers=desk)
    assert settled.json()["year"] == NEW
    # a discharge at 23:59:59 on 31 December, sent after midnight: 2026's
    late = await _nhsa(
        client,
        desk,
        _envelope(
            "2304",
            _settle_2304("ZY2", "JS2", dscg_time=f"{OLD}-12-31 23:59:59"),
            f"{NEW}-01-01 00:00:31",
            12,
        ),
    )
    settled = await client.get(f"/v1/settlements/{late['settlecheck']['id']}", headers=desk)
    assert settled.json()["year"] == OLD
    assert late["settlecheck"]["policy"]["version"] != NEXT_VERSION

    # a 2304 sent at 23:59:58 whose answer was lost, sent again after midnight: the same
    # settlement (2026's), not a second one of 2027
    clock.move_to(datetime(OLD, 12, 31, 15, 59, 58, tzinfo=UTC))
    ids["ZY4"] = _person(registry, 554)[0]
    admission = {
        "mdtrtinfo": {
            "psn_no": "P1",
            "insutype": "390",
            "begntime": f"{OLD}-12-30 09:00:00",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": ids["ZY4"],
            "med_type": "21",
            "ipt_no": "ZY4",
            "atddr_no": "D01",
            "adm_diag_dscr": "肺炎",
        },
        "diseinfo": [{"diag_code": "J18.9", "diag_name": "肺炎"}],
    }
    await _nhsa(client, desk, _envelope("2401", admission, f"{OLD}-12-31 23:59:58", 13))
    sent = await _nhsa(
        client, desk, _envelope("2304", _settle_2304("ZY4", "JS4"), f"{OLD}-12-31 23:59:58", 14)
    )
    clock.move_to(datetime(OLD, 12, 31, 16, 0, 40, tzinfo=UTC))
    resent = await _nhsa(
        client, desk, _envelope("2304", _settle_2304("ZY4", "JS4"), f"{NEW}-01-01 00:00:40", 15)
    )
    assert resent["settlecheck"]["replayed"] is True
    assert resent["settlecheck"]["id"] == sent["settlecheck"]["id"]
    assert resent["setlinfo"]["setl_time"] == sent["setlinfo"]["setl_time"]
    settled = await client.get(f"/v1/settlements/{sent['settlecheck']['id']}", headers=desk)
    assert settled.json()["year"] == OLD

    # FHIR: a discharge day of 1 January, the Claim created that day
    created = await client.post(
        "/fhir/Claim",
        content=json.dumps(_claim("ZY3", f"{NEW}-01-01", _at(f"{NEW}-01-01", "00:00"))),
        headers={**desk, "content-type": systems.FHIR_JSON},
    )
    assert created.status_code == 201, created.text
    response = created.json()
    stored = await client.get(f"/v1/settlements/{response['id']}", headers=desk)
    assert (stored.json()["year"], stored.json()["policy"]["version"]) == (NEW, NEXT_VERSION)
    policy = next(e for e in response["extension"] if e["url"] == systems.EXT_POLICY)
    assert NEXT_VERSION in policy["valueString"]
    read = await client.get(f"/fhir/ClaimResponse/{response['id']}", headers=desk)
    assert read.status_code == 200, read.text
    assert read.json()["created"] == response["created"]


async def test_findings_either_side_of_midnight_fall_in_their_own_day_month_and_year(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """A deposit taken from an eligible patient at 23:59 on 31 December is a December 2026
    finding, one at 00:00 on 1 January a January 2027 one, and a settlement after midnight of
    a discharge before it books its findings on 31 December, whenever they are read."""
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    id_number, _ = _person(registry, 561)
    clock.move_to(datetime(OLD, 12, 31, 15, 0, tzinfo=UTC))
    await _admit(client, hospital_headers, "DEP-1", id_number, _at(f"{OLD}-12-31", "22:00"))
    clock.move_to(LAST_MINUTE)
    for n, taken in enumerate((f"{OLD}-12-31T15:59:30Z", f"{OLD}-12-31T16:00:00Z"), start=1):
        clock.move_to(datetime.fromisoformat(taken.replace("Z", "+00:00")))
        deposit = await client.post(
            "/v1/admissions/DEP-1/deposits",
            json={"receipt_no": f"R-{n}", "amount": "500.00", "taken_at": taken},
            headers=hospital_headers,
        )
        assert deposit.status_code == 201, deposit.text
        assert deposit.json()["violation"]["rule_code"] == "DEPOSIT_CHARGED"

    # discharged at 23:30 on 31 December, settled after midnight: a finding of 31 December
    clock.move_to(datetime(OLD, 12, 31, 16, 10, tzinfo=UTC))
    slip = await f.settle(
        client,
        hospital_headers,
        f.settlement_request(
            "DEP-1", discharged_at=_at(f"{OLD}-12-31", "23:30"), bill=f.bill("10000.00", "2000.00")
        ),
    )
    assert "OUT_OF_POLICY_OVER_LIMIT" in slip["violations_booked"]
    found = len(slip["violations_booked"])

    clock.move_to(datetime(NEW, 1, 2, 2, 0, tzinfo=UTC))

    async def count(**period: str) -> int:
        ledger = {"detected_from": period["from"], "detected_to": period["to"]}
        listed = await client.get("/v1/violations", params=ledger, headers=auditor)
        assert listed.status_code == 200, listed.text
        board = await client.get("/v1/violations/scoreboard", params=period, headers=auditor)
        assert board.status_code == 200, board.text
        items = listed.json()["items"]
        assert board.json()["total_count"] == len(items)
        return len(items)

    assert await count(**{"from": f"{OLD}-12-31", "to": f"{OLD}-12-31"}) == 1 + found
    assert await count(**{"from": f"{NEW}-01-01", "to": f"{NEW}-01-01"}) == 1
    assert await count(**{"from": f"{OLD}-12-31", "to": f"{NEW}-01-01"}) == 2 + found
    assert await count(**{"from": f"{OLD}-12-01", "to": f"{OLD}-12-31"}) == 1 + found
    listed = (await client.get("/v1/violations", headers=auditor)).json()["items"]
    days = sorted(v["event_on"] for v in listed)
    assert days == [f"{OLD}-12-31"] * (1 + found) + [f"{NEW}-01-01"]
    for year, wanted in ((OLD, 1 + found), (NEW, 1)):
        figures = await client.get(
            "/v1/indicators",
            params={"from": f"{year}-01-01", "to": f"{year}-12-31", "region": f.COUNTY},
            headers=auditor,
        )
        assert figures.status_code == 200, figures.text
        problems = figures.json()["problems"]
        assert problems["open"] + problems["closed"] == wanted


SHORTER_TERMS_TEXT = NEXT_YEARS_TEXT.replace(
    "controls:\n", "controls:\n  pay_after_treatment: {due_days_after_discharge: 15}\n"
)


async def test_a_stay_settled_in_stages_across_new_year_keeps_each_stages_year_and_terms(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """A stage settled on 31 December is 2026's under 2026's rules; the final in January is
    2027's under 2027's; the stage's share falls due from the final discharge by the days it
    was opened with (ADR 0025), and both shares are 2027's due in the indicators."""
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    await _succeed(client, admin_headers, SHORTER_TERMS_TEXT)
    desk = hospital_headers
    id_number, _ = _person(registry, 571)
    clock.move_to(datetime(OLD, 12, 31, 12, 0, tzinfo=UTC))  # 20:00 on 31 December
    await _admit(client, desk, "ST-1", id_number, _at(f"{OLD}-12-20"))
    stage = await _discharge(
        client,
        desk,
        "ST-1",
        _at(f"{OLD}-12-31", "19:00"),
        ("30000.00", "1000.00"),
        his="S-ST-1a",
        mid_settlement=True,
    )
    assert (stage["year"], stage["stage"]) == (OLD, 1)
    assert stage["policy"]["version"] != NEXT_VERSION
    clock.move_to(datetime(NEW, 1, 5, 4, 0, tzinfo=UTC))
    final = await _discharge(
        client, desk, "ST-1", _at(f"{NEW}-01-05"), ("8000.00", "200.00"), his="S-ST-1b"
    )
    assert (final["year"], final["stage"], final["policy"]["version"]) == (NEW, 2, NEXT_VERSION)
    assert final["year_parts"] == []
    first = await f.receivable_of(client, desk, stage["id"])
    last = await f.receivable_of(client, desk, final["id"])
    assert first["due_on"] == f"{NEW}-02-04"  # 30 days, 2026's terms, from 5 January
    assert last["due_on"] == f"{NEW}-01-20"  # 15 days, 2027's terms
    owed = _fen(first["amount_due"]) + _fen(last["amount_due"])
    assert owed > 0

    async def due(year: int) -> int:
        got = await client.get(
            "/v1/receivables/indicators", params={"year": str(year)}, headers=auditor
        )
        assert got.status_code == 200, got.text
        return sum(_fen(row["due"]) for row in got.json()["counties"])

    assert await due(OLD) == 0
    assert await due(NEW) == owed


async def test_china_midnight_is_when_next_years_version_starts_to_count_as_in_effect(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """At 23:59 on 31 December next year's version may still be withdrawn, a status asked for
    1 January is a day not yet come (at 23:50, before the clock skew reaches it), a newborn of
    1 January is not yet born, and January's statement has not begun; from 00:00 (16:00 UTC)
    each is the other way round."""
    auditor = await make_key("auditor", region_prefix=f.COUNTY)
    id_number, _ = _person(registry, 581)
    newborn = f.resident_id(born=datetime(NEW, 1, 1).date(), seq=582)
    f.person_route(registry, newborn).mock(
        return_value=httpx.Response(404, json={"code": "not_registered"})
    )

    async def withdraw() -> httpx.Response:
        await _succeed(client, admin_headers, NEXT_YEARS_TEXT)
        versions = (await client.get("/v1/policies", headers=admin_headers)).json()
        content_hash = next(v["content_hash"] for v in versions if v["version"] == NEXT_VERSION)
        return await client.post(
            f"/v1/policies/{content_hash}/withdrawal",
            json={"reason": "重新起草"},
            headers=admin_headers,
        )

    async def asked(person: str, **on: str) -> httpx.Response:
        return await client.get(f"/v1/persons/{person}/status", params=on, headers=hospital_headers)

    async def january() -> httpx.Response:
        return await client.get(
            "/v1/clearing/statement",
            params={
                "fund_code": "F99-BASIC",
                "hospital_code": f.COUNTY_HOSPITAL,
                "period": f"{NEW}-01",
            },
            headers=auditor,
        )

    clock.move_to(datetime(OLD, 12, 31, 15, 50, tzinfo=UTC))  # beyond the callers' clock skew
    assert (await asked(id_number, on=f"{NEW}-01-01")).status_code == 422
    clock.move_to(LAST_MINUTE)
    assert (await withdraw()).status_code == 200
    assert (await asked(newborn)).json()["code"] == "invalid_resident_id"
    assert (await january()).json()["code"] == "period_not_begun"

    clock.move_to(MIDNIGHT)
    refused = await withdraw()
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "policy_version_in_effect"
    status = await asked(id_number, on=f"{NEW}-01-01")
    assert status.status_code == 200, status.text
    assert status.json()["policy"]["version"] == NEXT_VERSION
    born = await asked(newborn)
    assert born.status_code == 200, born.text
    assert born.json()["registered"] is False
    assert (await january()).status_code == 200


NARROWER_TEXT = NEXT_YEARS_TEXT.replace(
    "controls:\n", "controls:\n  pay_after_treatment: {categories: [registered_poor]}\n"
)


async def test_a_share_promised_after_treatment_in_december_is_owed_under_a_narrower_2027(
    clock: time_machine.Coordinates,
    client: httpx.AsyncClient,
    registry: respx.MockRouter,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """2027's version leaves 脱贫人口 (lifted_out) out of pay-after-treatment. One admitted at
    23:00 on 31 December was told no deposit (2026's version); settled in January, the share
    is still owed after treatment, by the admission's terms, not dropped untracked."""
    await _succeed(client, admin_headers, NARROWER_TEXT)
    id_number = f.resident_id(seq=572)
    f.person_route(registry, id_number).respond(200, json=f.registry_person("lifted_out"))
    clock.move_to(datetime(OLD, 12, 31, 15, 0, tzinfo=UTC))  # 23:00 on 31 December
    admitted = await _admit(
        client, hospital_headers, "NW-1", id_number, _at(f"{OLD}-12-31", "23:00")
    )
    assert admitted["pay_after_treatment"]["eligible"] is True
    assert admitted["deposit_allowed"] == "0.00"
    clock.move_to(datetime(NEW, 1, 3, 2, 0, tzinfo=UTC))
    settled = await _discharge(
        client, hospital_headers, "NW-1", _at(f"{NEW}-01-03"), ("8000.00", "200.00")
    )
    assert settled["policy"]["version"] == NEXT_VERSION
    owed = await f.receivable_of(client, hospital_headers, settled["id"])
    assert owed["amount_due"] == settled["totals"]["patient_pays"]
    assert _fen(owed["amount_due"]) > 0
    assert owed["due_on"] == f"{NEW}-02-02"  # 30 days after 3 January, the admission's terms
