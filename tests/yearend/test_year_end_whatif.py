"""The what-if (政策测算) prices the year-end top-up: the S7 rule over a person's three stays of
2025 (hand calculation in tests/yearend/test_year_end_run.py: medical aid 20307.14 + 28000.00
+ 1400.00 per stay, the patient 23703.06 + 12000.00 + 600.00, and a top-up of 1303.06 at the
year end), against itself, without the year-end entry, and with medical aid at 80%.

Medical aid at 80% of the in-catalogue rest (29010.20, 40000.00, 2000.00): 23208.16 + 32000.00
+ 1600.00 = 56808.16, 7101.02 more per stay; the year's in-catalogue self-pay 5802.04 + 8000.00
+ 400.00 = 14202.04 is below 10% of 200000.00, so no top-up: the fund pays 7101.02 - 1303.06 =
5797.96 more and the patient as much less.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service import cli
from service.settings import Settings
from tests import factories
from tests.factories import KeyFactory

KeyFor = Callable[[], Awaitable[dict[str, str]]]
S7_TEXT = factories.S7_POLICY.read_text(encoding="utf-8")
PREFECTURE = factories.S7_PREFECTURE
ENTRY = S7_TEXT[S7_TEXT.index("year_end:") :]
WITHOUT_YEAR_END = S7_TEXT.replace(ENTRY, "")
AID_AT_80 = S7_TEXT.replace('ratio: "0.70"', 'ratio: "0.80"')


async def _three_stays(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor
) -> None:
    headers = await hospital_key()
    for n in range(3):
        await factories.s7_stay(client, session, headers, n)


async def _what_if(client: httpx.AsyncClient, headers: dict[str, str], text: str) -> dict[str, Any]:
    answer = await client.post(
        "/v1/policies/whatif", json={"source_text": text, "over": 2025}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def _aid(report: dict[str, Any]) -> tuple[str, str, str]:
    (line,) = [f for f in report["funds"] if f["fund_type"] == "medical_aid"]
    return line["now"], line["proposed"], line["difference"]


def _year_end(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            e["code"],
            e["now"],
            e["proposed"],
            e["difference"],
            e["persons_now"],
            e["persons_proposed"],
        )
        for e in report["year_end"]
    ]


async def test_the_policy_against_itself_prices_the_top_up_on_both_sides_alike(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    await _three_stays(client, session, hospital_key)
    report = await _what_if(client, await make_key("auditor", region_prefix="32"), S7_TEXT)
    assert _year_end(report) == [("year_end_top_up", "1303.06", "1303.06", "0.00", 1, 1)]
    # 20307.14 + 28000.00 + 1400.00 per stay, and the year-end 1303.06
    assert _aid(report) == ("51010.20", "51010.20", "0.00")
    assert report["funds_difference"] == "0.00"
    # 36303.06 paid at discharge, 1303.06 of it topped up at the year end
    assert report["patient_now"] == report["patient_proposed"] == "35000.00"
    assert report["patients_rising"] == []
    assert report["year_end_booked"] == {}


async def test_dropping_the_year_end_entry_shows_the_saving_and_who_bears_it(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    await _three_stays(client, session, hospital_key)
    admin = await make_key("admin")
    booked = await client.post(
        "/v1/year-end/runs", json={"region_code": PREFECTURE, "plan_year": 2025}, headers=admin
    )
    assert booked.status_code == 200, booked.text
    report = await _what_if(client, admin, WITHOUT_YEAR_END)
    assert _year_end(report) == [("year_end_top_up", "1303.06", "0.00", "-1303.06", 1, 0)]
    assert _aid(report) == ("51010.20", "49707.14", "-1303.06")
    assert (report["patient_now"], report["patient_proposed"]) == ("35000.00", "36303.06")
    [person] = report["patients_rising"]
    assert (person["patient_now"], person["patient_proposed"], person["rise"]) == (
        "35000.00",
        "36303.06",
        "1303.06",
    )
    assert report["year_end_booked"] == {"medical_aid": "1303.06"}  # noted, not compared


async def test_a_higher_aid_ratio_is_priced_with_the_top_up_it_makes_unneeded(
    client: httpx.AsyncClient, session: AsyncSession, hospital_key: KeyFor, make_key: KeyFactory
) -> None:
    await _three_stays(client, session, hospital_key)
    report = await _what_if(client, await make_key("admin"), AID_AT_80)
    assert _year_end(report) == [("year_end_top_up", "1303.06", "0.00", "-1303.06", 1, 0)]
    assert _aid(report) == ("51010.20", "56808.16", "5797.96")
    assert (report["patient_now"], report["patient_proposed"]) == ("35000.00", "29202.04")
    assert report["patients_rising"] == []


async def test_the_cli_and_the_console_show_the_year_end_lines(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hospital_key: KeyFor,
    make_key: KeyFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _three_stays(client, session, hospital_key)
    proposal = tmp_path / "proposed.yaml"
    proposal.write_text(WITHOUT_YEAR_END, encoding="utf-8")
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    argv = ["policy", "whatif", str(proposal), "--over", "2025"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    out = capsys.readouterr().out
    assert "year-end top-up" in out
    assert re.search(r"medical_aid year_end_top_up\s+1303\.06\s+0\.00\s+-1303\.06", out)
    assert re.search(r"medical_aid\s+51010\.20\s+49707\.14\s+-1303\.06", out)

    origin = {"Origin": "http://testserver"}
    admin = await make_key("admin")
    await client.post("/console/login", data={"api_key": admin["X-API-Key"]}, headers=origin)
    form = await client.get("/console/whatif")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert found is not None
    data = {"csrf": found.group(1), "source_text": WITHOUT_YEAR_END, "over": "2025"}
    shown = await client.post("/console/whatif", data=data, headers=origin)
    assert shown.status_code == 200, shown.text
    assert 'id="whatif-year-end"' in shown.text
    # the funds by the names the year-end page and downloads give them, not the API's codes
    assert re.search(r"<tr><td>医疗救助</td><td[^>]*>51010\.20</td>", shown.text)
    assert "<td>medical_aid</td>" not in shown.text
    assert re.search(
        r"<td>年度政策范围内个人自付超10%部分补足</td><td[^>]*>1303\.06</td>"
        r"<td[^>]*>0\.00</td><td[^>]*>-1303\.06</td>",
        shown.text,
    )
