"""What-if through the API: a year already settled, re-settled under a proposal; nothing stored
changes. Ya'an's shipped policy (worked example D2) makes the hand calculation short."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from service import cli
from service.policy_versions.shipped import shipped_policy_texts
from service.settings import Settings
from tests import factories
from tests.factories import KeyFactory, at, bill, settle

KeyFor = Callable[[str], Awaitable[dict[str, str]]]
YAAN = shipped_policy_texts()["sichuan_511800_yaan_2017.yaml"]


async def _two_stays(client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor) -> None:
    headers = await key_for("H511802001")
    for seq in (1, 2):
        visit = await factories.make_admission(
            session,
            hospital_code="H511802001",
            county_code="511802",
            insured_county="511802",
            resident=factories.resident_id(region="511802", seq=seq),
            admitted_at=at(2018, 4, 20),
        )
        await settle(
            client,
            headers,
            {
                "visit_id": visit.visit_id,
                "his_settlement_id": f"D2-{seq}",
                "discharged_at": "2018-05-01T09:00:00+08:00",
                "bill": bill("9000.00", "1000.00"),
            },
        )


async def _stored(session: AsyncSession) -> list[Any]:
    rows = await session.exec(
        sa.text(
            "SELECT 's', id, patient_pays_fen FROM settlements UNION ALL "
            "SELECT key, year, value_fen FROM accumulators ORDER BY 1, 2"
        )
    )
    found = [tuple(row) for row in rows]
    await session.rollback()  # end the read: SQLite writers take the database (BEGIN IMMEDIATE)
    return found


async def _what_if(
    client: httpx.AsyncClient, headers: dict[str, str], text: str, over: int = 2018
) -> httpx.Response:
    body = {"source_text": text, "over": over}
    return await client.post("/v1/policies/whatif", json=body, headers=headers)


def _funds(report: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {f["fund_type"]: (f["now"], f["proposed"], f["difference"]) for f in report["funds"]}


async def test_the_shipped_policy_against_itself_reports_no_difference(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    await _two_stays(client, session, key_for)
    answer = await _what_if(client, await make_key("admin"), YAAN)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["settlements"] == 2
    assert _funds(report) == {
        "basic_insurance": ("14960.00", "14960.00", "0.00"),
        "medical_aid": ("1848.00", "1848.00", "0.00"),
        "supplementary": ("2692.00", "2692.00", "0.00"),
    }
    assert report["funds_difference"] == "0.00"
    assert report["patient_now"] == report["patient_proposed"] == "500.00"
    assert report["patients_rising"] == []
    assert report["year_end"] == []  # Ya'an has no year-end entry, now or proposed
    everyone = next(r for r in report["ratios"] if r["category"] == "*")
    assert everyone["now"] == everyone["proposed"]
    assert everyone["below_target_now"] == everyone["below_target_proposed"] == 0


async def test_a_changed_ratio_reports_the_hand_calculated_difference(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    await _two_stays(client, session, key_for)
    before = await _stored(session)
    proposal = YAAN.replace('ratio: "0.85"', 'ratio: "0.80"').replace(
        'out_of_policy_ratio: "0.95"', 'out_of_policy_ratio: "0.90"'
    )
    answer = await _what_if(client, await make_key("auditor", region_prefix="51"), proposal)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # per stay: basic (9000 - 200) x 0.80 = 7040 (-440); aid (1960 - 200) x 0.70 = 1232 (+308);
    # supplementary 1760 - 1232 = 528 + 1000 x 0.90 = 1428 (+82); the patient 200 + 100 (+50)
    assert _funds(report) == {
        "basic_insurance": ("14960.00", "14080.00", "-880.00"),
        "medical_aid": ("1848.00", "2464.00", "616.00"),
        "supplementary": ("2692.00", "2856.00", "164.00"),
    }
    assert report["funds_difference"] == "-100.00"
    assert (report["patient_now"], report["patient_proposed"]) == ("500.00", "600.00")
    assert [p["rise"] for p in report["patients_rising"]] == ["50.00", "50.00"]
    assert await _stored(session) == before  # nothing stored changes


async def test_another_region_or_a_hospital_key_gets_no_what_if(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    outside = await _what_if(client, await make_key("auditor", region_prefix="42"), YAAN)
    assert (outside.status_code, outside.json()["code"]) == (404, "region_out_of_scope")
    hospital = await _what_if(client, await key_for("H511802001"), YAAN)
    assert hospital.status_code == 403
    broken = await _what_if(client, await make_key("admin"), YAAN.replace('"0.85"', '"1.85"'))
    assert (broken.status_code, broken.json()["code"]) == (422, "invalid_policy")


@pytest.mark.parametrize(
    ("starts", "says"),
    [
        ("2-3", "is not a month-day MM-DD"),
        ("1_0-01", "is not a month-day MM-DD"),
        ("01-1", "is not a month-day MM-DD"),
        ("02-30", "is not a day every year has"),
        ("02-29", "is not a day every year has"),
    ],
)
async def test_a_plan_year_start_must_be_a_real_month_day_as_mm_dd(
    client: httpx.AsyncClient, make_key: KeyFactory, starts: str, says: str
) -> None:
    proposal = YAAN.replace(
        'region: "511800"', f'region: "511800"\nplan_year: {{starts: "{starts}"}}'
    )
    answer = await _what_if(client, await make_key("admin"), proposal)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_policy"), answer.text
    problems = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert says in problems["plan_year.starts"], problems


async def test_the_cli_prints_the_same_what_if(
    client: httpx.AsyncClient,
    session: AsyncSession,
    key_for: KeyFor,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _two_stays(client, session, key_for)
    proposal = tmp_path / "proposed.yaml"
    proposal.write_text(YAAN.replace('ratio: "0.85"', 'ratio: "0.80"'), encoding="utf-8")
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    argv = ["policy", "whatif", str(proposal), "--over", "2018"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    captured = capsys.readouterr()
    assert "re-settled 2" in captured.err
    assert "2 settlements re-settled" in captured.out
    assert re.search(r"basic_insurance\s+14960\.00\s+14080\.00\s+-880\.00", captured.out)
    assert re.search(r"patients\s+500\.00\s+500\.00", captured.out)


async def test_the_console_page_shows_the_same_what_if(
    client: httpx.AsyncClient, session: AsyncSession, key_for: KeyFor, make_key: KeyFactory
) -> None:
    await _two_stays(client, session, key_for)
    origin = {"Origin": "http://testserver"}
    admin = await make_key("admin")
    await client.post("/console/login", data={"api_key": admin["X-API-Key"]}, headers=origin)
    form = await client.get("/console/whatif")
    assert form.status_code == 200
    assert "政策测算" in form.text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert found is not None
    proposal = YAAN.replace('ratio: "0.85"', 'ratio: "0.80"')
    data = {"csrf": found.group(1), "source_text": proposal, "over": "2018"}
    shown = await client.post("/console/whatif", data=data, headers=origin)
    assert shown.status_code == 200, shown.text
    assert "2 笔结算" in shown.text
    assert re.search(r"<td>基本医保</td><td[^>]*>14960\.00</td><td[^>]*>14080\.00", shown.text)
    broken = {**data, "source_text": proposal.replace('"0.80"', '"1.80"')}
    refused = await client.post("/console/whatif", data=broken, headers=origin)
    assert refused.status_code == 422
    assert 'id="error"' in refused.text


async def test_stages_are_re_settled_as_the_stay_so_far_less_the_earlier_stages(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """The wired county policy (deductible 1000 per admission, halved for later admissions of
    the year, basic 80%). One person: a stay settled in two stages, then another admission.
    Stage 1, 600.00: under the deductible, basic 0. Stage 2, 10000.00: the stay so far 10600.00
    pays (10600 - 1000) x 0.80 = 7680.00. The later admission, 10000.00: (10000 - 500) x 0.80 =
    7600.00. Replayed as three separate stays, stage 2 would be a later admission and pay
    (10000 - 500) x 0.80 = 7600.00, and the policy would differ from itself by 80.00."""
    answer = await client.post(
        "/v1/policies", json={"source_text": factories.wired_policy()}, headers=admin_headers
    )
    assert answer.status_code == 201, answer.text
    resident = factories.resident_id(region=factories.COUNTY, seq=61)
    for visit_id in ("ST", "AF"):
        month = 3 if visit_id == "ST" else 5
        await factories.make_admission(
            session, resident=resident, visit_id=visit_id, admitted_at=at(2024, month, 1)
        )
    stages = [
        await settle(
            client,
            hospital_headers,
            factories.settlement_request(
                "ST",
                his=f"ST{n}",
                discharged_at=f"2024-03-{end}T10:00:00+08:00",
                bill=bill(amount),
                mid_settlement=n == 1,
            ),
        )
        for n, end, amount in ((1, "10", "600.00"), (2, "20", "10000.00"))
    ]
    later = await settle(
        client,
        hospital_headers,
        factories.settlement_request(
            "AF", his="AF", discharged_at="2024-05-10T10:00:00+08:00", bill=bill("10000.00")
        ),
    )
    basic = [
        next(x["amount"] for x in s["layers"] if x["code"] == "basic_insurance")
        for s in (*stages, later)
    ]
    assert basic == ["0.00", "7680.00", "7600.00"]
    admin = await make_key("admin")
    report = (await _what_if(client, admin, factories.wired_policy(), over=2024)).json()
    assert report["settlements"] == 3
    assert _funds(report) == {"basic_insurance": ("15280.00", "15280.00", "0.00")}
    assert report["patient_now"] == report["patient_proposed"] == "5320.00"
    # basic at 70%: stage 2 (10600 - 1000) x 0.70 = 6720.00, the later admission
    # (10000 - 500) x 0.70 = 6650.00; the patient 600 + 3280 + 3350
    lower = factories.wired_policy().replace('ratio: "0.80"', 'ratio: "0.70"')
    report = (await _what_if(client, admin, lower, over=2024)).json()
    assert _funds(report) == {"basic_insurance": ("15280.00", "13370.00", "-1910.00")}
    assert (report["patient_now"], report["patient_proposed"]) == ("5320.00", "7230.00")
    assert [p["rise"] for p in report["patients_rising"]] == ["1910.00"]


Stays = tuple[tuple[str, str, datetime, str, str], ...]


async def _settled(
    client: httpx.AsyncClient, session: AsyncSession, headers: dict[str, str], stays: Stays
) -> list[dict[str, Any]]:
    """Each stay (person, visit id, admitted at, discharge day, bill) admitted and settled at
    10:00 on its discharge day, in order: the settlements' answers."""
    out = []
    for person, visit_id, admitted, discharged, amount in stays:
        await factories.make_admission(
            session, resident=person, visit_id=visit_id, admitted_at=admitted
        )
        payload = factories.settlement_request(
            visit_id, his=visit_id, discharged_at=f"{discharged}T10:00:00+08:00", bill=bill(amount)
        )
        out.append(await settle(client, headers, payload))
    return out


SPLIT_SIMPLE = """
region: "990102"
region_name: 演示县
name: 演示县 测试：跨年度住院分段结算
version: "split-simple-2024"
effective_from: 2024-02-01
sources: ["test: basic insurance alone, a stay across New Year split by bed days"]
plan_year: {cross_year: split}
categories: {registered_poor: 建档立卡贫困人口}
layers:
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 城乡居民基本医疗保险
    deductible: "1000.00"
    ratio: "0.80"
    annual_cap: "10000.00"
"""


async def test_a_split_stay_is_re_settled_part_by_part_on_each_years_accumulators(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """Basic insurance 80% above 1000 per admission (per part, as each part is settled in its
    own year), at most 10000 a year. A, November 2024, 10000: 7200. B, 20 Dec 2024 - 10 Jan
    2025, 21000 split by bed days 12000 / 9000: the 2024 part (12000 - 1000) x 0.80 = 8800,
    capped at 10000 - 7200 = 2800; the 2025 part (9000 - 1000) x 0.80 = 6400. C, March 2025,
    10000: 7200 capped at 10000 - 6400 = 3600. The 2025 what-if reads B and C (12800): B whole
    on 2025's accumulators would be capped at 10000 and C get nothing (10000, 2800 less).
    Another person: D, 20 Dec 2025 - 10 Jan 2026, 21000: its 2025 part pays 8800 (a row of
    2026), and E, November 2025 but settled after D, 7200 capped at 10000 - 8800 = 1200."""
    loaded = await client.post(
        "/v1/policies", json={"source_text": SPLIT_SIMPLE}, headers=admin_headers
    )
    assert loaded.status_code == 201, loaded.text
    resident = factories.resident_id(region=factories.COUNTY, seq=62)
    other = factories.resident_id(region=factories.COUNTY, seq=63)
    stays = (
        (resident, "A", at(2024, 11, 1), "2024-11-10", "10000.00"),
        (resident, "B", at(2024, 12, 20), "2025-01-10", "21000.00"),
        (resident, "C", at(2025, 3, 1), "2025-03-10", "10000.00"),
        (other, "D", at(2025, 12, 20), "2026-01-10", "21000.00"),
        (other, "E", at(2025, 11, 1), "2025-11-10", "10000.00"),
    )
    results = await _settled(client, session, hospital_headers, stays)
    paid = [(r["fund_pay_sumamt"], [p["funds"] for p in r["year_parts"]]) for r in results]
    assert paid == [
        ("7200.00", []),
        ("9200.00", ["2800.00", "6400.00"]),
        ("3600.00", []),
        ("15200.00", ["8800.00", "6400.00"]),
        ("1200.00", []),
    ]
    admin = await make_key("admin")
    report = (await _what_if(client, admin, SPLIT_SIMPLE, over=2025)).json()
    assert report["settlements"] == 3  # B, C, E: the stays discharged in 2025
    assert _funds(report) == {"basic_insurance": ("14000.00", "14000.00", "0.00")}
    assert report["patient_now"] == report["patient_proposed"] == "27000.00"
    # at 90%: A 8100 (not reported: 2024); B's 2024 part 9900 capped at 1900, its 2025 part
    # 8000 x 0.90 = 7200; C 8100 capped at 2800; D's 2025 part 9900 (not reported: 2026), so
    # E 8100 capped at 100: 12000 in 2025, 2000 less for a higher ratio
    higher = SPLIT_SIMPLE.replace('ratio: "0.80"', 'ratio: "0.90"')
    report = (await _what_if(client, admin, higher, over=2025)).json()
    assert _funds(report) == {"basic_insurance": ("14000.00", "12000.00", "-2000.00")}
    assert (report["patient_now"], report["patient_proposed"]) == ("27000.00", "29000.00")


async def test_stages_at_the_plan_year_end_are_re_settled_as_they_were_settled(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """Basic 80% above 1000 per admission, split at the year end. X: a stage to 31 Dec 2024
    23:59:59 (5000, in 2024), the final on 10 Jan 2025 (4000) wholly in 2025: (4000 - 1000) x
    0.80 = 2400. Y: a stage to midnight on 1 Jan 2025 (5000, all of it 2024's part: 3200; a row
    of 2025), the final (4000) afresh in 2025: 2400. Z: a stage to 5 Jan 2025 (5000: 4428.57 in
    2024, 2742.86; 571.43 in 2025 under the deductible), the final (4000) continues the 2025
    part: (4571.43 - 1000) x 0.80 = 2857.14. W: a stage to 20 Dec 2024 (5000, in 2024), the
    final (4000) split 12 / 9 bed days, its 2024 part continuing the stage: 1828.57 + 571.43 =
    2400. Over 2025: 2400 + 3200 + 2400 + 2742.86 + 2857.14 + 2400 = 16000, and the same policy
    re-settles them to the same figure."""
    loaded = await client.post(
        "/v1/policies", json={"source_text": SPLIT_SIMPLE}, headers=admin_headers
    )
    assert loaded.status_code == 201, loaded.text
    finals = []
    for seq, visit_id, first_end in (
        (64, "X", "2024-12-31T23:59:59+08:00"),
        (65, "Y", "2025-01-01T00:00:00+08:00"),
        (66, "Z", "2025-01-05T10:00:00+08:00"),
        (67, "W", "2024-12-20T10:00:00+08:00"),
    ):
        await factories.make_admission(
            session,
            resident=factories.resident_id(region=factories.COUNTY, seq=seq),
            visit_id=visit_id,
            admitted_at=at(2024, 12, 1),
        )
        for his, end, amount, mid in (
            (f"{visit_id}1", first_end, "5000.00", True),
            (f"{visit_id}2", "2025-01-10T10:00:00+08:00", "4000.00", False),
        ):
            answer = await settle(
                client,
                hospital_headers,
                factories.settlement_request(
                    visit_id, his=his, discharged_at=end, bill=bill(amount), mid_settlement=mid
                ),
            )
        finals.append(answer["fund_pay_sumamt"])
    assert finals == ["2400.00", "2400.00", "2857.14", "2400.00"]
    report = (await _what_if(client, await make_key("admin"), SPLIT_SIMPLE, over=2025)).json()
    assert report["settlements"] == 6  # the finals, and Y's and Z's first stages (rows of 2025)
    assert _funds(report) == {"basic_insurance": ("16000.00", "16000.00", "0.00")}


SPLIT_SIMPLE_2025 = (
    SPLIT_SIMPLE.replace('version: "split-simple-2024"', 'version: "split-2025"')
    .replace("effective_from: 2024-02-01", "effective_from: 2025-01-01")
    .replace('ratio: "0.80"', 'ratio: "0.70"')
)


async def test_a_split_stays_earlier_part_stays_under_its_own_years_version(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
) -> None:
    """2024 at 80%, 2025 at 70%, 1000 deductible per admission and per part, at most 10000 a
    year. A, November 2024, 10000: 7200. B, 20 Dec 2024 - 10 Jan 2025, 21000: 2024's part
    (12000 - 1000) x 0.80 = 8800 capped at 2800, 2025's (9000 - 1000) x 0.70 = 5600. A what-if
    of 2025 changes 2025's part only: against itself, nothing; at 90%, 8000 x 0.90 = 7200 for
    2025's part, 1600 more. Under the proposal, A would have paid 6300 and B's 2024 part 3700
    (900 more against itself); and B's 2024 part 7700, but for the cap."""
    for text in (SPLIT_SIMPLE, SPLIT_SIMPLE_2025):
        loaded = await client.post(
            "/v1/policies", json={"source_text": text}, headers=admin_headers
        )
        assert loaded.status_code == 201, loaded.text
    resident = factories.resident_id(region=factories.COUNTY, seq=64)
    stays = (
        (resident, "A", at(2024, 11, 1), "2024-11-10", "10000.00"),
        (resident, "B", at(2024, 12, 20), "2025-01-10", "21000.00"),
    )
    result = (await _settled(client, session, hospital_headers, stays))[-1]
    assert [(p["funds"], p["policy_version"]) for p in result["year_parts"]] == [
        ("2800.00", "split-simple-2024"),
        ("5600.00", "split-2025"),
    ]
    admin = await make_key("admin")
    report = (await _what_if(client, admin, SPLIT_SIMPLE_2025, over=2025)).json()
    assert _funds(report) == {"basic_insurance": ("8400.00", "8400.00", "0.00")}
    higher = SPLIT_SIMPLE_2025.replace('ratio: "0.70"', 'ratio: "0.90"')
    report = (await _what_if(client, admin, higher, over=2025)).json()
    assert _funds(report) == {"basic_insurance": ("8400.00", "10000.00", "1600.00")}
