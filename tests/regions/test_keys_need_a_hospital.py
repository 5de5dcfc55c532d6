"""A hospital key is issued only for a registered hospital: on the API and the CLI alike (and the
console's key form: tests/console/test_console_admin.py), through service/auth/issuing.py, as a
fund key only for a registered fund."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from service.cli import main
from tests import factories as f

UNKNOWN = "H999999999"


async def _key_count(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> int:
    return len((await client.get("/v1/keys", headers=admin_headers)).json())


async def test_the_api_refuses_a_key_for_an_unregistered_hospital(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    before = await _key_count(client, admin_headers)
    refused = await client.post(
        "/v1/keys", json={"role": "hospital", "hospital_code": UNKNOWN}, headers=admin_headers
    )
    assert refused.status_code == 404
    assert refused.json()["code"] == "hospital_not_found"
    assert refused.json()["errors"][0]["field"] == "hospital_code"
    assert await _key_count(client, admin_headers) == before
    made = await client.post(
        "/v1/keys",
        json={"role": "hospital", "hospital_code": f.COUNTY_HOSPITAL},
        headers=admin_headers,
    )
    assert made.status_code == 201
    assert made.json()["hospital_code"] == f.COUNTY_HOSPITAL


async def test_the_cli_refuses_a_key_for_an_unregistered_hospital(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    before = await _key_count(client, admin_headers)
    create = ["keys", "create", "--role", "hospital", "--hospital"]
    assert await asyncio.to_thread(main, [*create, UNKNOWN]) == 2
    assert "error (hospital_not_found)" in capsys.readouterr().err
    assert await _key_count(client, admin_headers) == before
    assert await asyncio.to_thread(main, [*create, f.COUNTY_HOSPITAL]) == 0
    assert f"hospital:{f.COUNTY_HOSPITAL}#" in capsys.readouterr().out
    assert await _key_count(client, admin_headers) == before + 1


async def test_the_cli_refuses_a_key_for_an_unregistered_fund(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    args = ["keys", "create", "--role", "fund", "--fund", "NOPE", "--region", "99"]
    assert await asyncio.to_thread(main, args) == 2
    assert "error (fund_not_found)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("label", "code"),
    [
        (f"县医保局 {f.resident_id(seq=31)}", "resident_id_in_text"),
        ("县医保局\n伪造的第二行", "unprocessable"),
        ("长" * 129, "unprocessable"),
    ],
)
async def test_the_cli_refuses_a_label_the_api_refuses(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    label: str,
    code: str,
) -> None:
    """A key's label is shown on the console's key page and names the actor of every ledger
    step: the CLI stored a resident ID number, a line break or 129 characters in it, which
    POST /v1/keys refuses (one path for all three, service/auth/issuing.py)."""
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    api = await client.post(
        "/v1/keys", json={"role": "admin", "label": label}, headers=admin_headers
    )
    assert api.status_code == 422
    before = await _key_count(client, admin_headers)
    args = ["keys", "create", "--role", "admin", "--label", label]
    assert await asyncio.to_thread(main, args) == 2
    err = capsys.readouterr().err
    assert f"error ({code})" in err
    assert f.resident_id(seq=31)[6:14] not in err
    assert await _key_count(client, admin_headers) == before
