"""Next year's policy: succession, withdrawal and the version history, by API and CLI (ADR 0018)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from service.china_time import today
from service.cli import main
from tests import factories as f
from tests.factories import county_text

_UNUSED = """
region: "990000"
region_name: 演示省
name: 演示省 {start}
version: "demo-{start}-province"
effective_from: {start}
inherits: null
sources: ["test"]
{body}
"""


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], text: str, reason: str = "2027 年度政策"
) -> httpx.Response:
    return await client.post(
        "/v1/policies", json={"source_text": text, "reason": reason}, headers=headers
    )


async def _versions(client: httpx.AsyncClient, headers: dict[str, str], region: str) -> Any:
    answer = await client.get("/v1/policies", params={"region": region}, headers=headers)
    return [v for v in answer.json() if v["region_code"] == region]


async def test_a_later_version_closes_the_open_one_the_day_before(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    before = await _versions(client, admin_headers, "990102")
    assert [v["effective_to"] for v in before] == [None]

    answer = await _post(client, admin_headers, county_text("2027-01-01"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["effective_to"] is None

    after = await _versions(client, admin_headers, "990102")
    assert [(v["effective_from"], v["effective_to"]) for v in after] == [
        (before[0]["effective_from"], "2026-12-31"),
        ("2027-01-01", None),
    ]
    history = (
        await client.get("/v1/policies/history", params={"region": "990102"}, headers=admin_headers)
    ).json()
    assert [(e["action"], e["effective_to"], e["reason"]) for e in history] == [
        ("closed", "2026-12-31", "2027 年度政策"),
        ("loaded", None, "2027 年度政策"),
    ]
    assert all(e["actor"] and e["created_at"] for e in history)

    catalog = app.state.policies
    async with app.state.sessionmaker() as session:
        old = await catalog.for_region(session, insured_region="990102", on=date(2026, 12, 31))
        new = await catalog.for_region(session, insured_region="990102", on=date(2027, 1, 1))
    assert old.content_hash == before[0]["content_hash"]  # the closed text keeps its hash
    assert new.content_hash == answer.json()["content_hash"]


async def test_a_settlement_names_the_version_in_force_on_its_date(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    app: FastAPI,
) -> None:
    new = await _post(client, admin_headers, county_text("2024-03-05"))
    assert new.status_code == 201, new.text
    async with app.state.sessionmaker() as session:
        visit = await f.make_admission(session)  # admitted 2024-03-01, under the old version
    settled = await f.settle(client, hospital_headers, f.settlement_request(visit.visit_id))
    # discharged 2024-03-10: the version in force on the discharge date
    assert settled["policy"]["content_hash"] == new.json()["content_hash"]
    assert settled["policy"]["version"] == "demo-2024-03-05-county"


async def test_an_earlier_start_than_the_latest_version_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await _post(client, admin_headers, county_text("2027-01-01"))).status_code == 201
    answer = await _post(client, admin_headers, county_text("2026-07-01"))
    assert answer.status_code == 409
    assert answer.json()["code"] == "policy_succession_out_of_order"
    assert "2027-01-01" in answer.json()["detail"]


async def test_a_second_text_for_the_same_start_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await _post(client, admin_headers, county_text("2027-01-01"))).status_code == 201
    changed = county_text("2027-01-01").replace('"0.00"', '"10.00"')
    answer = await _post(client, admin_headers, changed)
    assert answer.status_code == 409
    assert answer.json()["code"] == "policy_version_exists"


async def _settled_under(app: FastAPI, content_hash: str, discharged: Any) -> None:
    async with app.state.sessionmaker() as session:
        admission = await f.make_admission(session, policy_hash=content_hash)
        session.add(f.settlement(admission, policy_hash=content_hash, discharged_at=discharged))
        await session.commit()


async def test_a_successor_that_would_change_settlements_made_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    current = (await _versions(client, admin_headers, "990102"))[0]
    await _settled_under(app, current["content_hash"], f.at(2026, 3, 15))

    answer = await _post(client, admin_headers, county_text("2026-03-01"))
    assert answer.status_code == 409
    assert answer.json()["code"] == "policy_succession_retroactive"
    assert "2026-03-15" in answer.json()["detail"]
    # from the day after the last settlement it is fine
    assert (await _post(client, admin_headers, county_text("2026-03-16"))).status_code == 201


async def test_a_version_that_moves_the_plan_years_start_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    """Plan years are named by the calendar year they start in: 10-01 from 2027-01-01 would
    make January to September 2027 plan year 2026, on 2026's caps and after its year-end run."""
    [county] = await _versions(client, admin_headers, "990102")
    [province] = await _versions(client, admin_headers, "990000")
    async with app.state.sessionmaker() as session:
        for pool, version in (("990102", county), ("990103", province)):
            admission = await f.make_admission(
                session, insured_county=pool, policy_hash=version["content_hash"]
            )
            session.add(
                f.settlement(
                    admission,
                    year=2026,
                    policy_region=version["region_code"],
                    policy_hash=version["content_hash"],
                )
            )
        await session.commit()
    october = county_text("2027-01-01") + 'plan_year:\n  starts: "10-01"\n'
    moved = await _post(client, admin_headers, october)
    assert moved.status_code == 409, moved.text
    problem = moved.json()
    assert (problem["code"], problem["errors"][0]["field"]) == (
        "policy_plan_year_moved",
        "plan_year",
    )
    assert "01-01" in problem["detail"]
    assert "10-01" in problem["detail"]
    assert "plan year 2026" in problem["detail"]
    # a county of its own for the first time is held to the plan year it had under its parent
    neighbour = october.replace('"990102"', '"990103"').replace("演示县", "邻县")
    first = await _post(client, admin_headers, neighbour)
    assert (first.status_code, first.json()["code"]) == (409, "policy_plan_year_moved")
    assert [v["effective_to"] for v in await _versions(client, admin_headers, "990102")] == [None]
    kept = county_text("2027-01-01") + 'plan_year:\n  starts: "01-01"\n'
    assert (await _post(client, admin_headers, kept)).status_code == 201


@pytest.mark.parametrize("month_day", ["10-01", "01-01", "06-15"])
async def test_a_plan_year_move_loaded_before_anyone_settled_in_the_year_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], month_day: str
) -> None:
    """Nobody has settled next plan year yet, but until the move starts the insured are
    settled under the old rules in a year the new ones name again (10-01 from 2027-10-01 names
    October 2027 on plan year 2027, as the old rules named January to September). Next year's,
    not a fixed one: a move loaded on or after its start is judged by what was settled."""
    start = f"{today().year + 1}-{month_day}"
    october = county_text(start) + 'plan_year:\n  starts: "10-01"\n'
    moved = await _post(client, admin_headers, october)
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "policy_plan_year_moved"
    assert "the old rules still name plan year" in moved.json()["detail"]
    assert [v["effective_to"] for v in await _versions(client, admin_headers, "990102")] == [None]


async def test_a_move_that_names_no_year_twice_may_be_loaded_in_advance(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """邻县's first version runs October to September from the province's first day (no rules
    before it to move); back to 01-01 from 2027-01-01 names 2027, which the October rules never
    reach (their last is 2026)."""
    october = county_text("2024-01-01") + 'plan_year:\n  starts: "10-01"\n'
    october = october.replace('"990102"', '"990103"').replace("演示县", "邻县")
    assert (await _post(client, admin_headers, october)).status_code == 201
    january = october.replace("2024-01-01", "2027-01-01").replace('"10-01"', '"01-01"')
    answer = await _post(client, admin_headers, january)
    assert answer.status_code == 201, answer.text


async def test_a_move_loaded_after_its_start_is_refused_though_nothing_was_settled_in_the_year(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """10-01 from 2025-01-01 names January to September 2025 plan year 2024, as the calendar
    rules named 2024 itself. Nothing of 2024 is settled yet, but a late bill of a stay
    discharged in 2024 would be, under the old rules, in plan year 2024 too: on the caps and
    the year-end run the moved months join. It was taken, as its days were past."""
    october = county_text("2025-01-01") + 'plan_year:\n  starts: "10-01"\n'
    moved = await _post(client, admin_headers, october)
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "policy_plan_year_moved"
    assert "the old rules still name plan year 2024 on 2024-12-31" in moved.json()["detail"]
    assert [v["effective_to"] for v in await _versions(client, admin_headers, "990102")] == [None]


async def test_a_countys_first_version_that_would_change_settlements_made_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    """邻县 has no version of its own: its insured are settled under the province's. A first
    county version from a day they were settled on would take those visits over."""
    [province] = await _versions(client, admin_headers, "990000")
    async with app.state.sessionmaker() as session:
        for county, day in (("990103", 15), ("990102", 20)):
            admission = await f.make_admission(
                session, insured_county=county, policy_hash=province["content_hash"]
            )
            session.add(
                f.settlement(
                    admission,
                    policy_region="990000",
                    policy_hash=province["content_hash"],
                    discharged_at=f.at(2026, 3, day),
                )
            )
        await session.commit()
    neighbour = county_text("2026-03-01").replace('"990102"', '"990103"').replace("演示县", "邻县")

    answer = await _post(client, admin_headers, neighbour)
    assert answer.status_code == 409, answer.text
    assert (answer.json()["code"], answer.json()["errors"][0]["field"]) == (
        "policy_succession_retroactive",
        "effective_from",
    )
    assert "2026-03-15" in answer.json()["detail"]
    assert await _versions(client, admin_headers, "990103") == []
    # the other county's settlement of the 20th is not 邻县's: from the 16th it is fine
    later = neighbour.replace("2026-03-01", "2026-03-16")
    assert (await _post(client, admin_headers, later)).status_code == 201


async def test_a_version_not_in_effect_is_withdrawn_and_its_predecessor_reopened(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    new = (await _post(client, admin_headers, county_text("2099-01-01"))).json()
    answer = await client.post(
        f"/v1/policies/{new['content_hash']}/withdrawal",
        json={"reason": "征求意见后重新起草"},
        headers=admin_headers,
    )
    assert answer.status_code == 200, answer.text
    versions = await _versions(client, admin_headers, "990102")
    assert [v["effective_to"] for v in versions] == [None]
    history = (
        await client.get("/v1/policies/history", params={"region": "990102"}, headers=admin_headers)
    ).json()
    assert [e["action"] for e in history] == ["closed", "loaded", "withdrawn", "reopened"]
    assert history[-1]["effective_to"] is None
    assert history[-2]["reason"] == "征求意见后重新起草"
    # the slot is free again: a corrected text may be loaded
    changed = county_text("2099-01-01").replace('"0.00"', '"10.00"')
    assert (await _post(client, admin_headers, changed)).status_code == 201


async def test_a_version_in_effect_cannot_be_withdrawn(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    current = (await _versions(client, admin_headers, "990102"))[0]
    answer = await client.post(
        f"/v1/policies/{current['content_hash']}/withdrawal",
        json={"reason": "试试"},
        headers=admin_headers,
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "policy_version_in_effect"


async def test_a_version_that_settled_anything_cannot_be_withdrawn(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    new = (await _post(client, admin_headers, county_text("2099-01-01"))).json()
    await _settled_under(app, new["content_hash"], f.at(2099, 1, 5))
    answer = await client.post(
        f"/v1/policies/{new['content_hash']}/withdrawal",
        json={"reason": "试试"},
        headers=admin_headers,
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "policy_version_has_settled"


async def test_withdrawal_is_for_admins_and_names_the_version(
    client: httpx.AsyncClient, admin_headers: dict[str, str], hospital_headers: dict[str, str]
) -> None:
    new = (await _post(client, admin_headers, county_text("2099-01-01"))).json()
    url = f"/v1/policies/{new['content_hash']}/withdrawal"
    forbidden = await client.post(url, json={"reason": "x"}, headers=hospital_headers)
    assert forbidden.status_code == 403
    missing = await client.post(
        "/v1/policies/" + "0" * 64 + "/withdrawal", json={"reason": "x"}, headers=admin_headers
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "policy_version_not_found"


async def test_a_new_province_version_reaches_the_county_by_date(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    """Inheritance by date: the county version in force at D over the province one at D."""
    province = (await _versions(client, admin_headers, "990000"))[0]
    text = (
        await client.get(f"/v1/policies/{province['content_hash']}", headers=admin_headers)
    ).json()["source_text"]
    raised = text.replace(
        f"effective_from: {province['effective_from']}", "effective_from: 2027-01-01"
    )
    raised = raised.replace('version: "', 'version: "2027-', 1)
    raised = raised.replace('threshold: "10000.00"', 'threshold: "8000.00"')
    assert 'threshold: "8000.00"' in raised
    answer = await _post(client, admin_headers, raised)
    assert answer.status_code == 201, answer.text
    catalog = app.state.policies
    async with app.state.sessionmaker() as session:
        before = await catalog.for_region(session, insured_region="990102", on=date(2026, 6, 1))
        after = await catalog.for_region(session, insured_region="990102", on=date(2027, 6, 1))
    assert before.region_code == after.region_code == "990102"
    assert before.version == after.version  # the same county version ...
    assert before.content_hash != after.content_hash  # ... over another province version
    assert before.effective_to == date(2026, 12, 31)
    assert after.effective_from == date(2027, 1, 1)


async def test_succession_and_withdrawal_by_cli(
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    path = tmp_path / "county-2099.yaml"
    path.write_text(county_text("2099-01-01"), encoding="utf-8")
    load = ["policy", "load", str(path), "--reason", "2099 年度", "--by", "县医保局"]
    assert await asyncio.to_thread(main, load) == 0
    out = capsys.readouterr().out
    assert "stored: 990102 demo-2099-01-01-county" in out
    assert "now ends 2098-12-31" in out
    content_hash = out.split("hash ")[1].split()[0]

    assert await asyncio.to_thread(main, ["policy", "withdraw", "0" * 64, "--reason", "x"]) == 2
    assert "policy_version_not_found" in capsys.readouterr().err
    withdraw = ["policy", "withdraw", content_hash, "--reason", "重新起草", "--by", "县医保局"]
    assert await asyncio.to_thread(main, withdraw) == 0
    assert await asyncio.to_thread(main, ["policy", "history", "--region", "990102"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in lines if line[:4].isdigit()] == [
        "closed",
        "loaded",
        "withdrawn",
        "reopened",
    ]
    assert "by 县医保局: 重新起草" in lines[-1]

    async with app.state.engine.begin() as conn:
        ends = (
            await conn.execute(
                sa.text("SELECT effective_to FROM policy_versions WHERE region_code = '990102'")
            )
        ).all()
    assert ends == [(None,)]

    current = ["policy", "withdraw", _current_hash(app), "--reason", "x"]
    assert await asyncio.to_thread(main, current) == 2
    assert "policy_version_in_effect" in capsys.readouterr().err


def _current_hash(app: FastAPI) -> str:
    from service.policy_versions.shipped import shipped_versions

    return next(
        v.content_hash for v in shipped_versions(loaded_by="x") if v.region_code == "990102"
    )


def test_check_and_explain_treat_a_later_file_as_the_successor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "county-2027.yaml"
    path.write_text(county_text("2027-01-01"), encoding="utf-8")
    assert main(["policy", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok  990102 demo-2027-01-01-county from 2027-01-01" in out
    explain = ["policy", "explain", str(path), "--bill", "20500,20000,500", "--level", "primary"]
    assert main(explain) == 0
    explained = capsys.readouterr().out
    assert "policy demo-2027-01-01-county" in explained
    assert "18000.00" in explained  # (20000.00 - the successor's deductible 0.00) x 0.90
    broken = tmp_path / "broken.yaml"
    broken.write_text(county_text("2027-01-01").replace("inherits", "inherit"), encoding="utf-8")
    assert main(["policy", "check", str(broken)]) == 1


@pytest.mark.parametrize("starts", ["2-3", "02-30", "10-01"])
def test_check_requires_a_plan_year_start_as_mm_dd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], starts: str
) -> None:
    path = tmp_path / "county-2027.yaml"
    text = county_text("2027-01-01") + f'plan_year: {{starts: "{starts}"}}\n'
    path.write_text(text, encoding="utf-8")
    code = main(["policy", "check", str(path)])
    out = capsys.readouterr()
    if starts == "10-01":
        assert code == 0, out
    else:
        assert code == 1, out
        assert "plan_year.starts" in out.out + out.err


async def test_a_what_if_proposal_compiles_over_a_succeeded_parent(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    from service.whatif.service import proposed_policy

    province = (await _versions(client, admin_headers, "990000"))[0]
    text = (
        await client.get(f"/v1/policies/{province['content_hash']}", headers=admin_headers)
    ).json()["source_text"]
    later = text.replace(
        f"effective_from: {province['effective_from']}", "effective_from: 2027-01-01"
    ).replace('threshold: "10000.00"', 'threshold: "8000.00"')
    assert (await _post(client, admin_headers, later)).status_code == 201
    async with app.state.sessionmaker() as session:
        proposal = await proposed_policy(session, county_text("2027-06-01"))
    assert proposal.region_code == "990102"
    assert proposal.effective_from == date(2027, 6, 1)


@pytest.mark.parametrize("path", ["/v1/policies", "/v1/policies/history"])
@pytest.mark.parametrize("region", ["%", "99_102", "9", "9901021", "99\x00", "9" * 5000])
async def test_a_region_filter_takes_only_a_region_code_or_its_prefix(
    client: httpx.AsyncClient, admin_headers: dict[str, str], path: str, region: str
) -> None:
    answer = await client.get(path, params={"region": region}, headers=admin_headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["region"]


async def test_a_region_prefix_lists_the_versions_below_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _post(client, admin_headers, county_text("2027-01-01"))
    for path in ("/v1/policies", "/v1/policies/history"):
        by_prefix = await client.get(path, params={"region": "99"}, headers=admin_headers)
        everything = await client.get(path, headers=admin_headers)
        assert by_prefix.status_code == 200, by_prefix.text
        assert {v["region_code"] for v in by_prefix.json()} == {
            v["region_code"] for v in everything.json() if v["region_code"].startswith("99")
        }
        assert "990102" in {v["region_code"] for v in by_prefix.json()}


async def test_an_id_number_in_a_loads_reason_is_kept_masked(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    number = f.resident_id(region="110105", seq=321)
    answer = await client.post(
        "/v1/policies",
        json={
            "source_text": county_text("2027-01-01"),
            "reason": f"按 {number} 的投诉修订",
            "source_name": f"{number}.yaml",
        },
        headers=admin_headers,
    )
    assert answer.status_code == 201, answer.text
    history = await client.get(
        "/v1/policies/history", params={"region": "990102"}, headers=admin_headers
    )
    assert number not in history.text
    assert f"按 {number[:6]}********{number[-4:]} 的投诉修订" in history.text
    version = await client.get(
        f"/v1/policies/{answer.json()['content_hash']}", headers=admin_headers
    )
    assert number not in version.text
