"""Builders for test data. Valid resident ID numbers are made, not hard-coded."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import respx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.clearing.models import Fund
from service.demo import DEMO_FUNDS, DEMO_HOSPITALS, DEMO_REGIONS
from service.identity import check_character
from service.money import fen_to_yuan
from service.policy_versions.shipped import shipped_versions
from service.regions.models import Hospital, Region
from service.regions.rules import level_of, parent_of
from service.roster.loading import load_people
from service.roster.rows import RosterPerson
from service.settings import Settings
from service.settlements.models import SettlementReversal

POSTGRES_URL = os.environ.get("SETTLECHECK_TEST_POSTGRES_URL") or None
REDIS_URL = os.environ.get("SETTLECHECK_TEST_REDIS_URL") or None
REGISTRY_URL = "http://registry.test"  # mocked with respx; make_settings points at it
"""The servers the suite runs against; unset, SQLite and the in-process cache."""

KeyFactory = Callable[..., Awaitable[dict[str, str]]]
"""The `make_key` fixture: `headers = await make_key("hospital", hospital_code="H1")`."""

COUNTY = "990102"  # 演示县
NEIGHBOUR_COUNTY = "990103"
TOWNSHIP_HOSPITAL = "H990102001"
COUNTY_HOSPITAL = "H990102002"
NEIGHBOUR_HOSPITAL = "H990103001"
CITY_HOSPITAL = "H990101001"
PROVINCE_HOSPITAL = "H990101002"
UNDESIGNATED_HOSPITAL = "H990102009"


def resident_id(*, region: str = "500112", born: date = date(1960, 5, 17), seq: int = 1) -> str:
    """A valid 18-character resident ID number (region code, birth date, sequence, check)."""
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


async def seed_shipped_policies(maker: async_sessionmaker[Any]) -> None:
    """Every policy shipped in service/policy/data, as an admin would have loaded them."""
    async with maker() as session:
        session.add_all(shipped_versions(loaded_by="tests"))
        await session.commit()


async def seed_regions(maker: async_sessionmaker[Any]) -> None:
    """The demo province's regions and hospitals, which most tests stand on."""
    async with maker() as session:
        if await session.get(Region, COUNTY) is None:
            for region in DEMO_REGIONS:
                session.add(Region.model_validate(region))
            for hospital in DEMO_HOSPITALS:
                session.add(Hospital.model_validate(hospital))
            for fund in DEMO_FUNDS:
                session.add(Fund.model_validate(fund))
            await session.commit()


NEW_PROVINCE, NEW_PREFECTURE, NEW_COUNTY = "980000", "980100", "980102"
"""A province that is not in the demo data: a county registering its directory on day one."""


def region_body(code: str, **overrides: Any) -> dict[str, Any]:
    """PUT /v1/regions/{code} body: the level and parent the code stands for."""
    return {"name": f"区划{code}", "level": level_of(code), "parent_code": parent_of(code),
            **overrides}  # fmt: skip


def hospital_body(**overrides: Any) -> dict[str, Any]:
    """PUT /v1/hospitals/{code} body: a designated secondary county hospital of the new county."""
    values = {"name": "新县人民医院", "county_code": NEW_COUNTY, "level": "secondary"}
    return {**values, "tier": "county", "designated": True, **overrides}


async def register_regions(
    client: httpx.AsyncClient, headers: dict[str, str], *codes: str
) -> list[int]:
    """PUT each region (parents first); the status codes answered."""
    answers = [
        await client.put(f"/v1/regions/{code}", json=region_body(code), headers=headers)
        for code in codes
    ]
    return [a.status_code for a in answers]


def finding(**overrides: Any) -> Any:
    """A violation finding in the demo county, 0.20 points, detected 2026-03-10 10:00 UTC."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from service.violations.ledger import Finding

    values: dict[str, Any] = {
        "rule_code": "DEPOSIT_CHARGED",
        "hospital_code": COUNTY_HOSPITAL,
        "county_code": COUNTY,
        "source": "deposit",
        "evidence": {"deposit_taken_fen": 2000_00},
        "points": Decimal("0.20"),
        "visit_id": "V0001",
        "person_key": "k" * 64,
        "person_masked": "500112********0011",
        "detected_at": datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return Finding(**values)


async def book(maker: async_sessionmaker[Any], *findings: Any) -> list[int]:
    """Book findings through the ledger, committed; returns their ids in order."""
    from service.unit_of_work import unit_of_work

    async with unit_of_work(maker) as uow:
        ids = [(await uow.violations.book(f)).id for f in findings]
    return [i for i in ids if i is not None]


def admission(**overrides: Any) -> Any:
    """An eligible in-county inpatient admission at the county hospital, no deposit."""
    from datetime import UTC, datetime

    from service.admissions.models import Admission

    values: dict[str, Any] = {
        "hospital_code": COUNTY_HOSPITAL,
        "county_code": COUNTY,
        "visit_id": "A0001",
        "person_key": "p" * 64,
        "person_masked": "500112********0011",
        "insured_county": COUNTY,
        "visit_type": "inpatient",
        "admitted_at": datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        "location": "in_county",
        "categories": ["dibao"],
        "eligible": True,
        "eligibility": {"reasons": [], "covered": True},
        "deposit_taken_fen": 0,
        "status_source": "registry",
        "request_hash": "r" * 64,
        "response": {},
    }
    values.update(overrides)
    return Admission(**values)


def make_person_key(resident: str) -> str:
    """The person key `make_admission` gives a resident ID number (a test stand-in for the HMAC)."""
    import hashlib

    return hashlib.sha256(resident.encode()).hexdigest()


async def make_admission(session: Any, **overrides: Any) -> Any:
    """Insert an admitted visit directly (not through the admission endpoint) and commit.

    Defaults: a registered-poor in-county inpatient of the demo county at the county hospital,
    admitted 2024-03-01 08:00 China time. `resident=` (an ID number) sets the person."""
    from datetime import UTC, datetime

    from service.admissions.models import Admission

    raw = overrides.pop("resident", resident_id(region=COUNTY))
    values: dict[str, Any] = {
        "hospital_code": COUNTY_HOSPITAL,
        "county_code": COUNTY,
        "visit_id": f"V{raw[-6:]}-{datetime.now(UTC).timestamp():.6f}",
        "person_key": make_person_key(raw),
        "person_masked": raw[:6] + "*" * 8 + raw[-4:],
        "name_masked": "张*",
        "insured_county": COUNTY,
        "visit_type": "inpatient",
        "admitted_at": datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
        "location": "in_county",
        "referred": False,
        "categories": ["registered_poor"],
        "eligible": True,
        "eligibility": {"reasons": [], "covered": True},
        "deposit_taken_fen": 0,
        "status_source": "registry",
        "request_hash": "0" * 64,
        "response": {},
        "state": "admitted",
    }
    values.update(overrides)
    row = Admission(**values)
    session.add(row)
    await session.flush()
    await session.commit()  # and no refresh: on SQLite an open read would hold the write lock
    return row


def settlement(admission: Any, **overrides: Any) -> Any:
    """A settlement of this (flushed) admission, discharged 2026-03-15; `in_policy` in yuan."""
    from datetime import UTC, datetime

    from service.settlements.models import Settlement

    in_policy = overrides.pop("in_policy", "0.00")
    values: dict[str, Any] = {
        "hospital_code": admission.hospital_code,
        "county_code": admission.county_code,
        "visit_id": admission.visit_id,
        "admission_id": admission.id,
        "his_settlement_id": f"S-{admission.visit_id}",
        "request_hash": "s" * 64,
        "person_key": admission.person_key,
        "person_masked": admission.person_masked,
        "pool": admission.insured_county,
        "year": 2026,
        "settlement_mode": "one_stop",
        "admitted_at": admission.admitted_at,
        "discharged_at": datetime(2026, 3, 15, 2, 0, tzinfo=UTC),
        "total_fen": 0,
        "funds_total_fen": 0,
        "patient_pays_fen": 0,
        "policy_region": admission.insured_county,
        "policy_version": "test",
        "policy_hash": "h" * 64,
        "deltas": {},
        "result": {"inscp_scp_amt": in_policy},
    }
    values.update(overrides)
    values["patient_pays_fen"] = values["total_fen"] - values["funds_total_fen"]
    return Settlement(**values)


def registry_person(
    *categories: str,
    insured_county: str = COUNTY,
    deceased: bool = False,
    family_doctor_until: str | None = "2030-12-31",
    chronic_card_until: str | None = None,
    valid_from: str = "2016-01-01",
    valid_to: str | None = None,
) -> dict[str, Any]:
    """The registry's JSON body for a person (docs/registry-api.md); default: registered poor."""
    return {
        "insured_county": insured_county,
        "deceased": deceased,
        "categories": [
            {"code": code, "valid_from": valid_from, "valid_to": valid_to}
            for code in categories or ("registered_poor",)
        ],
        "family_doctor": {"contracted": True, "valid_to": family_doctor_until}
        if family_doctor_until
        else None,
        "chronic_cards": [{"disease": "hypertension", "valid_to": chronic_card_until}]
        if chronic_card_until
        else [],
    }


def admission_request(**overrides: Any) -> dict[str, Any]:
    """POST /v1/admissions body: an in-county inpatient of the demo county, 2026-03-10."""
    values: dict[str, Any] = {
        "visit_id": "V-0001",
        "id_number": resident_id(seq=11),
        "name": "张三",
        "admitted_at": "2026-03-10T08:00:00+08:00",
        "visit_type": "inpatient",
        "insured_county": COUNTY,
        "referral": {"referred": False},
        "deposit_intended": "0.00",
    }
    values.update(overrides)
    return values


def bill(in_policy: str, out_of_policy: str = "0.00", **extra: Any) -> dict[str, Any]:
    """A settlement bill (yuan strings); the total is the sum of its two parts."""
    total = Decimal(in_policy) + Decimal(out_of_policy)
    return {
        "total": f"{total:.2f}",
        "in_policy": in_policy,
        "out_of_policy": out_of_policy,
        **extra,
    }


def settlement_request(visit_id: str, his: str = "S1", **overrides: Any) -> dict[str, Any]:
    """POST /v1/settlements body: discharged 2024-03-10, a bill of 20,000 + 500 yuan."""
    values: dict[str, Any] = {
        "visit_id": visit_id,
        "his_settlement_id": his,
        "discharged_at": "2024-03-10T10:00:00+08:00",
        "bill": bill("20000.00", "500.00"),
    }
    values.update(overrides)
    return values


async def settle(
    client: httpx.AsyncClient, headers: dict[str, str], payload: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    """POST a settlement, assert the status, return the JSON body."""
    response = await client.post("/v1/settlements", json=payload, headers=headers)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def at(year: int, month: int, day: int = 10) -> datetime:
    """10:00 China time on that day, as an aware UTC instant."""
    return datetime(year, month, day, 2, 0, tzinfo=UTC)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "auth_cache_seconds": 0,
        "auto_migrate": False,
        "demo_data": False,
        "registry_url": REGISTRY_URL,
        "registry_retries": 0,
        "id_hash_key": "test-secret-key-0123456789",
        "gc_freeze": False,
    }
    values.update(overrides)
    return Settings(**values)


def person_route(registry: respx.MockRouter, id_number: str) -> respx.Route:
    return registry.get(f"/v1/persons/{id_number}")


async def seed_snapshot(
    app: FastAPI, *people: RosterPerson, taken_at: datetime | None = None
) -> None:
    async with app.state.sessionmaker() as session:
        await load_people(
            session,
            people=people,
            hasher=app.state.id_hasher,
            taken_at=taken_at or datetime(2026, 3, 1, tzinfo=UTC),
        )
        await session.commit()


def roster_person(id_number: str, *codes: str, **overrides: Any) -> RosterPerson:
    values: dict[str, Any] = {
        "id_number": id_number,
        "insured_county": "990102",
        "categories": tuple((c, date(2016, 1, 1), None) for c in codes),
        "family_doctor_until": date(2030, 12, 31),
    }
    values.update(overrides)
    return RosterPerson(**values)


async def active_snapshot(session: Any) -> Any:
    """The roster snapshot the active pointer names, or None."""
    from service.roster.models import RosterPointer, RosterSnapshot

    pointer = await session.get(RosterPointer, "active")
    if pointer is None:
        return None
    return await session.get(RosterSnapshot, pointer.snapshot_id)


CONSOLE_ORIGIN = "http://testserver"


def console_browser(app: FastAPI) -> httpx.AsyncClient:
    """A client that behaves as a browser on the console: same-origin forms, cookies kept."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(
        transport=transport, base_url=CONSOLE_ORIGIN, headers={"Origin": CONSOLE_ORIGIN}
    )


async def console_sign_in(browser: httpx.AsyncClient, api_key: str) -> None:
    response = await browser.post("/console/login", data={"api_key": api_key})
    assert response.status_code == 303, response.text


async def expire_console_sessions(maker: async_sessionmaker[Any], *, ago_seconds: int = 60) -> None:
    """Every console session expired `ago_seconds` ago, as if its 8 hours had passed (the
    browser keeps sending its cookie: it outlives the session, service/console/session.py)."""
    from datetime import timedelta

    import sqlalchemy as sa

    from service.base import table_of, utcnow
    from service.console.models import ConsoleSession
    from service.unit_of_work import unit_of_work

    sessions = table_of(ConsoleSession)
    past = utcnow() - timedelta(seconds=ago_seconds)
    async with unit_of_work(maker) as uow:
        await uow.session.exec(sa.update(sessions).values(expires_at=past))


def once_in(html: str) -> str:
    """The one-time token of the console's key form (service/console/issued.py)."""
    import re

    found = re.search(r'name="once" value="([0-9a-f]+)"', html)
    assert found is not None, "no one-time token on the page"
    return found.group(1)


def csrf_in(html: str) -> str:
    import re

    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


# --- clearing (service/clearing) and the patient's share (service/receivables) ---------------


@dataclass
class Ledger:
    """Settles and reverses one admitted visit's history at the county hospital, written
    straight into the tables at chosen times (the API stamps `now`), with per-layer amounts in
    `result` as settlement stores them."""

    app: FastAPI
    admission: Any = None
    seq: int = 0

    async def settle(
        self,
        when: datetime,
        *,
        basic: int,
        critical: int = 0,
        patient: int = 100_00,
        hospital_code: str = COUNTY_HOSPITAL,
        visit_id: str | None = None,
        his_settlement_id: str | None = None,
    ) -> int:
        async with self.app.state.sessionmaker() as s:
            if self.admission is None:
                self.admission = await make_admission(s)
            self.seq += 1
            layers = [
                {
                    "code": "basic_insurance",
                    "fund_type": "basic_insurance",
                    "amount": fen_to_yuan(basic),
                }
            ]
            if critical:
                layers.append(
                    {
                        "code": "critical_illness",
                        "fund_type": "critical_illness",
                        "amount": fen_to_yuan(critical),
                    }
                )
            funds = basic + critical
            row = settlement(
                self.admission,
                visit_seq=self.seq,
                his_settlement_id=his_settlement_id or f"S{self.seq}",
                hospital_code=hospital_code,
                created_at=when,
                total_fen=funds + patient,
                funds_total_fen=funds,
                patient_pays_fen=patient,
                result={"layers": layers, "totals": {"patient_pays": fen_to_yuan(patient)}},
            )
            if visit_id is not None:
                row.visit_id = visit_id
            s.add(row)
            await s.commit()
            assert row.id is not None
            return int(row.id)

    async def reverse(self, settlement_id: int, when: datetime) -> None:
        async with self.app.state.sessionmaker() as s:
            s.add(
                SettlementReversal(
                    settlement_id=settlement_id,
                    reason="test",
                    deltas={},
                    reversed_by="test",
                    created_at=when,
                )
            )
            await s.commit()


async def settled_share(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    """An eligible in-county inpatient settled through the API (discharged 2024-03-10, so its
    share under pay-after-treatment is long overdue)."""
    async with app.state.sessionmaker() as s:
        admission = await make_admission(s, **overrides)
    return await settle(client, headers, settlement_request(admission.visit_id))


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


async def open_receivable(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`settled_share` and the receivable it opened: (settlement, receivable)."""
    settlement = await settled_share(app, client, headers, **overrides)
    return settlement, await receivable_of(client, headers, settlement["id"])


# The evening of settled_share's discharge (2024-03-10), when its schedule is agreed: 分期付款
# is agreed at discharge, before the share falls due (on 2024-04-09).
AT_DISCHARGE = "2024-03-10T18:00:00+08:00"


def clock_at(instant: str) -> Any:
    """A context in which every Python clock reads `instant` (ISO 8601 with its offset) and
    ticks on: for a step of a story told on fixed days, e.g. a schedule agreed before its share
    falls due (time-machine; nests inside the suite's `--clock`)."""
    import time_machine

    return time_machine.travel(datetime.fromisoformat(instant), tick=True)


def receivable_payment(amount: str, his: str = "P1", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "his_payment_id": his,
        "method": "wechat_pay",
        "receipt_no": f"R-{his}",
        "amount": amount,
        "paid_at": "2024-03-20T10:00:00+08:00",
    }
    values.update(overrides)
    return values


WIRED_POLICY = """
region: "990102"
region_name: 演示县
name: 演示县 测试：病种、费用类别、统筹区、再次住院起付线减半
version: "wired-2024"
effective_from: 2024-02-01
sources: ["test: a county policy with every input the service now hands the engine"]
{pooling}
categories: {{registered_poor: 建档立卡贫困人口}}
diseases: {{childhood_leukemia: 儿童急性淋巴细胞白血病（大病专项救治）}}
bill_categories: {{targeted_drug: 靶向药（谈判药品）}}
layers:
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 城乡居民基本医疗保险
    deductible: "1000.00"
    later_admissions: {{factor: "0.5"}}
    ratio: "0.80"
    excludes_line_categories: [targeted_drug]
    adjustments:
      - when: {{diseases: [childhood_leukemia]}}
        ratio: "0.90"
      - when: {{pooling_locations: [elsewhere_in_province]}}
        ratio_add: "-0.10"
  - code: targeted_drug
    kind: ratio
    fund_type: basic_insurance
    name: 靶向药单独支付
    line_categories: [targeted_drug]
    ratio: "0.60"
"""


def wired_policy(pooling: str | None = None) -> str:
    """A demo-county successor (from 2024-02-01) with a designated disease, a targeted-drug
    line category, pooling tiers and a deductible halved for later admissions (ADR 0019)."""
    return WIRED_POLICY.format(pooling=f"pooling: {pooling}" if pooling else "")


# --- the year-end top-up (service/yearend): the S7 worked example's region -------------------

S7_POLICY = Path(__file__).parent / "policy" / "examples" / "S7-year-end-top-up.yaml"
S7_PREFECTURE, S7_COUNTY, S7_HOSPITAL = "320200", "320211", "H320211001"
# A medical-aid recipient's stays of 2025 at the S7 county's hospital (tests/yearend/
# test_year_end_run.py works them out by hand: the three book a top-up of 1303.06, the first
# two 1203.06): (month, in-catalogue, out-of-catalogue, basic insurance, critical illness).
S7_STAYS = (
    (3, "135000.00", "15000.00", "68828.00", "37161.80"),
    (6, "60000.00", "0.00", "20000.00", "0.00"),
    (9, "5000.00", "0.00", "3000.00", "0.00"),
)


async def seed_s7_region(
    maker: async_sessionmaker[Any], client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Jiangsu, the prefecture 320200 with its county 320211 and a hospital, and the S7 policy
    (Jiangyin's year-end rule written for the prefecture) loaded by an admin."""
    async with maker() as s:
        s.add(Region(code="320000", name="江苏省", level="province"))
        s.add(Region(code=S7_PREFECTURE, name="无锡市", level="prefecture", parent_code="320000"))
        s.add(Region(code=S7_COUNTY, name="滨湖区", level="county", parent_code=S7_PREFECTURE))
        s.add(
            Hospital(
                code=S7_HOSPITAL,
                name="滨湖区人民医院",
                county_code=S7_COUNTY,
                level="secondary",
                tier="county",
            )
        )
        await s.commit()
    body = {"source_text": S7_POLICY.read_text(encoding="utf-8"), "reason": "S7 worked example"}
    loaded = await client.post("/v1/policies", json=body, headers=admin)
    assert loaded.status_code == 201, loaded.text


async def s7_stay(
    client: httpx.AsyncClient, session: Any, headers: dict[str, str], n: int, seq: int = 1
) -> dict[str, Any]:
    """Admit person `seq` and settle their stay `n` of S7_STAYS (2025) through the API."""
    month, inside, outside, basic, critical = S7_STAYS[n]
    visit = await make_admission(
        session,
        hospital_code=S7_HOSPITAL,
        county_code=S7_COUNTY,
        insured_county=S7_COUNTY,
        resident=resident_id(region=S7_COUNTY, seq=seq),
        categories=["medical_aid_recipient"],
        admitted_at=at(2025, month, 1),
    )
    return await settle(
        client,
        headers,
        {
            "visit_id": visit.visit_id,
            "his_settlement_id": f"YE-{seq}-{n}",
            "discharged_at": f"2025-{month:02d}-20T09:00:00+08:00",
            "bill": bill(inside, outside),
            "external_amounts": {"basic_insurance": basic, "critical_illness": critical},
        },
    )


async def book_year_end(maker: async_sessionmaker[Any], *pools: str, plan_year: int) -> list[int]:
    """One booked year-end row (seq 1, 100.00 from medical aid) per pool, written straight into
    the store, committed; their ids in order."""
    from service.unit_of_work import unit_of_work
    from service.yearend.models import YearEndPayment

    rows = [
        YearEndPayment(
            person_key=f"{n}" * 64,
            person_masked=f"{pool}********00{n}1",
            pool=pool,
            plan_year=plan_year,
            code="year_end_top_up",
            seq=1,
            name="年度补足",
            fund_type="medical_aid",
            amount_fen=100_00,
            year_total_fen=100_00,
            stays=1,
            settlement_ids=[n],
            cost_fen=1000_00,
            self_pay_fen=200_00,
            deductible_fen=100_00,
            patient_after_fen=100_00,
            policy_region=pool,
            policy_version="test",
            policy_hash="h" * 64,
            run_id="r" * 32,
            booked_by="tests",
        )
        for n, pool in enumerate(pools, start=1)
    ]
    async with unit_of_work(maker) as uow:
        await uow.yearend.book(rows)
    return [int(row.id or 0) for row in rows]


async def s7_year(
    client: httpx.AsyncClient, session: Any, hospital: dict[str, str], people: int = 1
) -> None:
    """`people` medical-aid recipients' 2025 at the S7 hospital: the first with the three stays
    (a top-up of 1303.06), the others with the first two each (1203.06)."""
    for seq in range(1, people + 1):
        for n in range(3 if seq == 1 else 2):
            await s7_stay(client, session, hospital, n, seq=seq)


# --- policy versions (service/policy_versions) -------------------------------------------------

COUNTY_NEXT = """
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县 {start} 调整
version: "demo-{start}-county"
effective_from: {start}
effective_to: null
sources: ["test"]
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "0.00"}}
"""


def county_text(start: str) -> str:
    """A demo-county successor document from `start` (a date, YYYY-MM-DD)."""
    return COUNTY_NEXT.format(start=start)


def county_with_snapshot_limit(start: str, days: int) -> str:
    """A demo-county successor from `start` whose pay-after-treatment rule lets a roster
    snapshot confirm cover only while it is at most `days` days old (ADR 0011, addendum)."""
    limit = f"controls:\n  pay_after_treatment:\n    snapshot_max_age_days: {days}\n"
    return county_text(start) + limit


async def load_policy(
    client: httpx.AsyncClient, admin: dict[str, str], text: str, reason: str = "test"
) -> dict[str, Any]:
    """POST /v1/policies as an admin; asserts the 201 and returns the version."""
    answer = await client.post(
        "/v1/policies", json={"source_text": text, "reason": reason}, headers=admin
    )
    assert answer.status_code == 201, answer.text
    loaded: dict[str, Any] = answer.json()
    return loaded
