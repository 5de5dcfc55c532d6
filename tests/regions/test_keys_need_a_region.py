"""An auditor's or fund's key is scoped to a registered region: its prefix is a province's (2
digits), a prefecture's (4) or a county's (6) code without the trailing zeros, and that region
is in the directory. The API, the console's key form and the CLI refuse alike
(service/auth/issuing.py); a key's hospital and fund codes are upper case there too."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from service.cli import main
from tests import factories as f

REFUSED = {
    "990": "2, 4 or 6 digits",  # no level of the code
    "99010": "2, 4 or 6 digits",
    "98": "names no registered province (980000)",
    "9900": "names no registered prefecture (990000)",  # 990000 is the province
    "990100": "names no registered county (990100)",  # 990100 is the prefecture
    "990199": "names no registered county (990199)",
}
ACCEPTED = ["99", "9901", "990102"]


async def _keys(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> list[object]:
    return list((await client.get("/v1/keys", headers=admin_headers)).json())


@pytest.mark.parametrize("role", ["auditor", "fund"])
@pytest.mark.parametrize(("prefix", "said"), REFUSED.items())
async def test_the_api_refuses_a_prefix_of_no_registered_region(
    client: httpx.AsyncClient, admin_headers: dict[str, str], role: str, prefix: str, said: str
) -> None:
    before = await _keys(client, admin_headers)
    body = {"role": role, "region_prefix": prefix}
    if role == "fund":
        body["fund_code"] = "F99-BASIC"
    refused = await client.post("/v1/keys", json=body, headers=admin_headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_key_scope"
    [error] = refused.json()["errors"]
    assert error["field"] == "region_prefix"
    assert said in refused.json()["detail"]
    assert await _keys(client, admin_headers) == before


@pytest.mark.parametrize("prefix", ACCEPTED)
async def test_a_prefix_of_a_registered_region_is_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str], prefix: str
) -> None:
    body = {"role": "auditor", "region_prefix": prefix}
    made = await client.post("/v1/keys", json=body, headers=admin_headers)
    assert made.status_code == 201, made.text
    assert made.json()["region_prefix"] == prefix


async def test_the_cli_refuses_alike(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    create = ["keys", "create", "--role", "auditor", "--region"]
    for prefix in ("990", "98"):
        assert await asyncio.to_thread(main, [*create, prefix]) == 2
        assert "error (invalid_key_scope)" in capsys.readouterr().err
    lower = ["keys", "create", "--role", "hospital", "--hospital", f.COUNTY_HOSPITAL.lower()]
    assert await asyncio.to_thread(main, lower) == 2
    assert "is not upper case" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*create, "9901"]) == 0
    assert "auditor:9901#" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"role": "auditor", "region_prefix": "99010"}, "2, 4 or 6 digits"),
        ({"role": "auditor", "region_prefix": "98"}, "980000"),
        ({"role": "hospital", "hospital_code": "h990102002"}, "written in upper case"),
    ],
    ids=["five-digits", "unregistered", "lower-case-hospital"],
)
async def test_the_console_refuses_alike(
    app: FastAPI, admin_headers: dict[str, str], form: dict[str, str], words: str
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        before = (await browser.get("/v1/keys", headers=admin_headers)).json()
        page = await browser.get("/console/keys")
        refused = await browser.post(
            "/console/keys",
            data={"csrf": f.csrf_in(page.text), "once": f.once_in(page.text), **form},
        )
        assert refused.status_code == 422
        assert 'id="error"' in refused.text
        assert words in refused.text
        assert (await browser.get("/v1/keys", headers=admin_headers)).json() == before


async def test_the_api_refuses_a_lower_case_hospital_or_fund_code_for_a_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body, field in (
        ({"role": "hospital", "hospital_code": "h990102002"}, "hospital_code"),
        ({"role": "fund", "fund_code": "f99-basic", "region_prefix": "99"}, "fund_code"),
    ):
        refused = await client.post("/v1/keys", json=body, headers=admin_headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0] == {
            "field": field,
            "code": "code_not_upper_case",
            "message": refused.json()["errors"][0]["message"],
        }
