"""Hospital, fund and rule codes are upper case, as NHSA institution codes are: `h990102002`
beside `H990102002` would be a second hospital to keys, admissions and clearing. A lower-case
code is refused with its own reason wherever a code is named (body, path, query, console form,
sheet: tests/regions/test_import.py; keys: tests/regions/test_keys_need_a_region.py), never
folded."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from alembic import command
from service.migrations import alembic_config
from service.regions.models import Hospital
from service.schemas import CODE
from tests import factories as f

LOWER = f.COUNTY_HOSPITAL.lower()


def _refused(response: httpx.Response) -> tuple[int, str, str]:
    """(status, field, code) of the first problem; the message says what the rule is."""
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert "upper case" in error["message"]
    return response.status_code, error["field"], error["code"]


REFUSED = "code_not_upper_case"


async def test_a_hospital_differing_only_by_case_cannot_be_registered(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = f.hospital_body(county_code=f.COUNTY)
    put = await client.put(f"/v1/hospitals/{LOWER}", json=body, headers=admin_headers)
    assert _refused(put) == (422, "hospital_code", REFUSED)
    read = await client.get(f"/v1/hospitals/{LOWER}", headers=admin_headers)
    assert _refused(read) == (422, "hospital_code", REFUSED)
    listed = (await client.get("/v1/hospitals", headers=admin_headers)).json()
    assert [h["code"] for h in listed if h["code"].upper() == f.COUNTY_HOSPITAL] == [
        f.COUNTY_HOSPITAL
    ]


async def test_the_console_s_hospital_form_refuses_it_in_words(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    form = {
        "code": "h990102077",
        "name": "演示县第二医院",
        "county_code": f.COUNTY,
        "level": "secondary",
        "tier": "county",
        "designated": "yes",
    }
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get("/console/hospitals")
        refused = await browser.post(
            "/console/hospitals", data={"csrf": f.csrf_in(page.text), **form}
        )
        assert refused.status_code == 422
        assert "upper case" in refused.text
        upper = {**form, "code": "H990102077", "csrf": f.csrf_in(page.text)}
        made = await browser.post("/console/hospitals", data=upper)
        assert made.status_code == 303, made.text
    stored = await client.get("/v1/hospitals/H990102077", headers=admin_headers)
    assert stored.json()["designated"] is True  # the checkbox's "yes", read by the form


async def test_a_fund_and_a_statement_name_their_codes_in_upper_case(
    client: httpx.AsyncClient, admin_headers: dict[str, str], auditor_headers: dict[str, str]
) -> None:
    fund = {
        "code": "f99-other",
        "fund_type": "basic_insurance",
        "region_code": "99",
        "name": "另一基金",
        "owner": "演示省医保局",
    }
    made = await client.post("/v1/clearing/funds", json=fund, headers=admin_headers)
    assert _refused(made) == (422, "code", REFUSED)
    statement = {"fund_code": "F99-BASIC", "hospital_code": LOWER, "period": "2024-03"}
    closed = await client.post("/v1/clearing/statements", json=statement, headers=auditor_headers)
    assert _refused(closed) == (422, "hospital_code", REFUSED)
    funds = await client.get("/v1/clearing/funds", headers=admin_headers)
    assert "f99-other" not in {x["code"].lower() for x in funds.json()}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"hospital_code": LOWER}, "hospital_code"),
        ({"rule_code": "deposit_charged"}, "rule_code"),
    ],
)
async def test_a_filter_by_a_lower_case_code_is_refused_not_answered_empty(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], params: dict[str, str], field: str
) -> None:
    answer = await client.get("/v1/violations", params=params, headers=auditor_headers)
    assert _refused(answer) == (422, field, REFUSED)


async def test_a_severity_is_still_a_lower_case_word(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    answer = await client.get(
        "/v1/violations",
        params={"severity": "high", "rule_code": "DEPOSIT_CHARGED"},
        headers=auditor_headers,
    )
    assert answer.status_code == 200, answer.text


def test_the_pattern_is_upper_case() -> None:
    import re

    assert re.fullmatch(CODE, "H990102002-X_1")
    assert not re.fullmatch(CODE, LOWER)


async def test_the_database_refuses_a_twin_by_case_that_reached_it_another_way(
    app: FastAPI,
) -> None:
    twin = Hospital(code=LOWER, name="孪生", county_code=f.COUNTY, level="secondary", tier="county")
    async with app.state.sessionmaker() as s:
        s.add(twin)
        with pytest.raises(sa.exc.IntegrityError):
            await s.commit()


def test_the_migration_names_twins_by_case_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'twins.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0016")
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO regions (code, name, level, created_at) "
                    "VALUES ('990000', '省', 'province', '2026-01-01')"
                )
            )
            for code in ("H1", "h1", "H2"):
                conn.execute(
                    sa.text(
                        "INSERT INTO hospitals (code, name, county_code, level, tier, "
                        "designated, created_at) VALUES (:code, 'x', '990102', 'primary', "
                        "'township', 1, '2026-01-01')"
                    ),
                    {"code": code},
                )
        with pytest.raises(RuntimeError, match="hospitals: H1, h1\\. Keep one"):
            command.upgrade(cfg, "head")
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0016"
    finally:
        engine.dispose()


async def _stored_before_0017(app: FastAPI, code: str) -> None:
    """A lower-case code an earlier release let in: 0017 refuses twins by case, it does not
    fold a lone one (the findings naming it are hash-chained), so it is still there."""
    async with app.state.sessionmaker() as s:
        await s.exec(
            sa.text(
                "INSERT INTO hospitals (code, name, county_code, level, tier, designated, "
                f"created_at) VALUES (:code, 'x', '{f.COUNTY}', 'primary', 'township', true, "
                "'2026-01-01')"
            ),
            params={"code": code},
        )
        await s.commit()


async def test_registering_the_upper_case_twin_of_a_stored_lower_case_code_is_a_409(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """It was a 500 (the unique index on upper(code) refused the insert); now a problem that
    names the stored code, and the same in the console's form."""
    await _stored_before_0017(app, "h990102077")
    body = f.hospital_body(county_code=f.COUNTY)
    put = await client.put("/v1/hospitals/H990102077", json=body, headers=admin_headers)
    assert put.status_code == 409, put.text
    assert put.json()["code"] == "hospital_code_case_twin"
    assert [e["field"] for e in put.json()["errors"]] == ["hospital_code"]
    assert "h990102077" in put.json()["detail"]
    form = {"code": "H990102077", "name": "x", "county_code": f.COUNTY, "level": "primary"}
    form |= {"tier": "township", "designated": "yes"}
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get("/console/hospitals")
        refused = await browser.post(
            "/console/hospitals", data={"csrf": f.csrf_in(page.text), **form}
        )
    assert refused.status_code == 409, refused.text
    assert "h990102077" in refused.text


async def test_registering_the_upper_case_twin_of_a_stored_lower_case_fund_is_a_409(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """It was a 409 `fund_exists` saying a fund of that type and region existed, on
    `region_code`: the upper(code) index refused the insert and the race's answer blamed the
    pair. Now it names the stored code, on `code`, as a hospital's twin does."""
    async with app.state.sessionmaker() as s:
        await s.exec(
            sa.text(
                "INSERT INTO funds (code, fund_type, region_code, name, owner, created_at) "
                "VALUES ('f50-aid', 'medical_aid', '50', 'x', 'x', '2026-01-01')"
            )
        )
        await s.commit()
    body = {"code": "F50-AID", "fund_type": "critical_illness", "region_code": "50",
            "name": "重庆市大病保险", "owner": "某保险公司"}  # fmt: skip
    made = await client.post("/v1/clearing/funds", json=body, headers=admin_headers)
    assert made.status_code == 409, made.text
    assert made.json()["code"] == "fund_code_case_twin"
    assert [e["field"] for e in made.json()["errors"]] == ["code"]
    assert "f50-aid" in made.json()["detail"]
