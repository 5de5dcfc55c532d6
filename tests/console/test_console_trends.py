"""Month-by-month trends, drill-down from a county to its hospitals to their findings, and bars
that are red only when they miss a target."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import httpx
from fastapi import FastAPI

from service.china_time import today
from service.console.trends import last_months
from tests import factories as f
from tests.factories import KeyFactory, county_text


async def _login(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await client.post("/console/login", data={"api_key": headers["X-API-Key"]})
    assert answer.status_code in (200, 303)


def test_twelve_months_across_new_year() -> None:
    months = last_months(date(2027, 2, 14))
    assert [m.label for m in months][:2] == ["2026-03", "2026-04"]
    assert months[-1].label == "2027-02"
    assert months[-1].last == date(2027, 2, 28)
    assert months[-3].first == date(2026, 12, 1)
    assert len(months) == 12


async def test_trends_count_findings_by_month_and_rule_in_scope(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    march, april = datetime(2026, 3, 10, 4, tzinfo=UTC), datetime(2026, 4, 2, 4, tzinfo=UTC)
    await f.book(
        app.state.sessionmaker,
        f.finding(detected_at=march),
        f.finding(detected_at=march, rule_code="NO_FAMILY_DOCTOR"),
        f.finding(detected_at=april),
        f.finding(
            detected_at=april, county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )
    await _login(client, await make_key("auditor", region_prefix="99"))
    html = (await client.get("/console/trends", params={"until": "2026-04-30"})).text
    rows = re.findall(r"<tr><td>(\d{4}-\d{2})</td>.*?<a [^>]*>(\d+)</a></td></tr>", html, re.S)
    counts = dict(rows)
    assert len(counts) == 12
    assert (counts["2026-03"], counts["2026-04"], counts["2026-02"]) == ("2", "2", "0")
    assert 'id="findings-chart"' in html
    assert "未签约家庭医生" in html
    assert "违规收取押金" in html
    assert 'href="/console/trends?region=990102' in html  # drill down to a county
    assert 'href="/console/trends?region=990103' in html

    county = (await client.get("/console/trends", params={"until": "2026-04-30",
                                                            "region": f.COUNTY})).text  # fmt: skip
    counts = dict(
        re.findall(r"<tr><td>(\d{4}-\d{2})</td>.*?<a [^>]*>(\d+)</a></td></tr>", county, re.S)
    )
    assert counts["2026-04"] == "1"
    assert "下钻" not in county  # a county is the bottom: its hospitals are on the scoreboard


async def test_a_hospital_is_refused_the_region_wide_trend(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    april = datetime(2026, 4, 2, 4, tzinfo=UTC)
    await f.book(
        app.state.sessionmaker,
        f.finding(detected_at=april),
        f.finding(
            detected_at=april, county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )
    await _login(client, hospital_headers)
    # Its lines are the region's indicators, which a hospital key may not see (ADR 0016); its
    # own findings are on the ledger page.
    refused = await client.get("/console/trends", params={"until": "2026-04-30"})
    assert refused.status_code == 403
    assert 'href="/console/trends"' not in (await client.get("/console/violations")).text


async def test_scoreboard_drills_down_from_county_to_hospital_findings(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    await f.book(app.state.sessionmaker, f.finding())
    await _login(client, auditor_headers)
    html = (await client.get("/console/scoreboard")).text
    assert f'href="/console/scoreboard?region={f.COUNTY}' in html
    assert f'href="/console/violations?hospital_code={f.COUNTY_HOSPITAL}' in html
    down = await client.get(f"/console/violations?hospital_code={f.COUNTY_HOSPITAL}")
    assert down.status_code == 200
    assert len(re.findall(r'class="open-violation"', down.text)) == 1


async def test_a_bar_without_a_target_is_not_red(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    await _login(client, auditor_headers)
    html = (await client.get("/console/indicators")).text
    tones = re.findall(r'class="bar (\w+)"', html)
    assert tones
    assert "plain" in tones  # 县域内就诊率 has no target
    assert all(t in ("plain", "met", "miss") for t in tones)


async def test_a_target_changed_at_new_year_is_drawn_from_the_month_it_applies(
    client: httpx.AsyncClient, admin_headers: dict[str, str], auditor_headers: dict[str, str]
) -> None:
    """Next year's county version raises the inpatient target from 90% to 92%: the months of
    this year are drawn against 90%, January against 92%, and the heading names both."""
    january = date(today().year + 1, 1, 1)
    text = county_text(january.isoformat()) + ('controls:\n  target_ratio: {inpatient: "0.92"}\n')
    loaded = await client.post("/v1/policies", json={"source_text": text}, headers=admin_headers)
    assert loaded.status_code == 201, loaded.text
    await _login(client, auditor_headers)
    html = (
        await client.get(
            "/console/trends",
            params={"region": f.COUNTY, "until": january.replace(day=31).isoformat()},
        )
    ).text
    heading = re.search(r"<h2>住院实际报销比例(.*?)</h2>", html)
    assert heading is not None
    assert heading[1] == f"（目标 90.00%；{january:%Y-%m} 起 92.00%）"
    chart = html[html.index('aria-label="住院实际报销比例"') :]
    targets = re.findall(
        r'<line x1="([\d.]+)" x2="([\d.]+)" y1="([\d.]+)"[^>]*class="target"', chart
    )
    assert len(targets) == 2
    (x1, x2, y90), (x3, x4, y92) = targets
    assert float(x2) <= float(x3)  # 90% until December, 92% from January
    assert float(y92) < float(y90)  # higher on the chart
