"""The lesser edges of issue 11 item 18: /metrics needs a key, HTML pages carry a strict
Content-Security-Policy, and demo data (with its plain-text admin key) is refused in production."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from service.settings import Settings
from tests import factories
from tests.conftest import make_settings
from tests.factories import settle
from tests.factories import settlement_request as body

SECRET = "a-real-secret-for-production-0123456789"


async def test_metrics_need_an_admin_key(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    anonymous = await client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    assert "settlecheck_http_requests_total" not in anonymous.text
    assert (await client.get("/metrics", headers=hospital_headers)).status_code == 403
    assert (await client.get("/metrics", headers=auditor_headers)).status_code == 403
    allowed = await client.get("/metrics", headers=admin_headers)
    assert allowed.status_code == 200
    assert "settlecheck_http_requests_total" in allowed.text


async def test_metrics_accept_the_scrape_token_when_one_is_set(database_url: str) -> None:
    from service.app import create_app

    app = create_app(make_settings(database_url, metrics_token="scrape-token-0123456789abcdef"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            good = await c.get(
                "/metrics", headers={"Authorization": "Bearer scrape-token-0123456789abcdef"}
            )
            bad = await c.get("/metrics", headers={"Authorization": "Bearer scrape-token-wrong"})
    assert good.status_code == 200
    assert "settlecheck_http_requests_total" in good.text
    assert bad.status_code == 401


def _csp(response: httpx.Response) -> dict[str, str]:
    header = response.headers.get("content-security-policy", "")
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (p.strip() for p in header.split(";"))
        if part
    }


async def test_the_slip_carries_a_strict_csp_that_still_allows_its_own_style(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    result = await settle(client, hospital_headers, body(visit.visit_id))
    slip = await client.get(f"/v1/settlements/{result['id']}/slip", headers=hospital_headers)
    assert slip.status_code == 200
    csp = _csp(slip)
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert "script-src" not in csp  # default-src 'none': no script at all
    assert "unsafe-inline" not in slip.headers["content-security-policy"]
    style = re.search(r"<style>(.*?)</style>", slip.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert csp["style-src"] == f"'sha256-{digest}'"
    assert slip.headers["x-content-type-options"] == "nosniff"
    assert slip.headers["cache-control"] == "no-store"


async def test_any_html_page_gets_the_strict_policy_and_json_gets_nosniff(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def plain_page() -> HTMLResponse:
        return HTMLResponse("<p>hello</p>")

    app.add_api_route("/a-new-html-page", plain_page)
    page = await client.get("/a-new-html-page")
    assert _csp(page)["default-src"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    health = await client.get("/healthz")
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in health.headers
    console = await client.get("/console/login")
    assert _csp(console)["script-src"] == "'none'"
    docs = await client.get("/docs")
    assert _csp(docs)["frame-ancestors"] == "'none'"


def test_production_refuses_demo_data_at_start() -> None:
    with pytest.raises(ValidationError, match="demo"):
        Settings(_env_file=None, environment="production", id_hash_key=SECRET, demo_data=True)
    embedded = Settings(_env_file=None, environment="production", id_hash_key=SECRET)
    assert embedded.embedded
    assert not embedded.should_seed_demo


def test_demo_data_command_refuses_production_and_writes_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main
    from service.demo import demo_keys_file

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("SETTLECHECK_ID_HASH_KEY", SECRET)
    monkeypatch.delenv("SETTLECHECK_REDIS_URL", raising=False)
    monkeypatch.delenv("SETTLECHECK_DEMO_DATA", raising=False)
    monkeypatch.setenv("SETTLECHECK_ENVIRONMENT", "production")
    assert main(["db", "upgrade"]) == 0
    assert main(["demo-data"]) == 2
    assert "production" in capsys.readouterr().err
    assert not demo_keys_file(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}").exists()


async def test_answers_with_persons_and_downloads_are_not_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
) -> None:
    async with app.state.sessionmaker() as s:
        await factories.make_admission(s)
    number = factories.resident_id(seq=5)
    answers = {
        "status": await client.get(f"/v1/persons/{number}/status", headers=hospital_headers),
        "ledger csv": await client.get("/v1/violations/export.csv", headers=auditor_headers),
        "ledger xlsx": await client.get("/v1/violations/export.xlsx", headers=auditor_headers),
        "refusal": await client.get(
            "/v1/violations", headers=hospital_headers | {"X-API-Key": "x"}
        ),
    }
    origin = {"Origin": str(client.base_url).rstrip("/")}
    signed_in = await client.post(
        "/console/login", data={"api_key": auditor_headers["X-API-Key"]}, headers=origin
    )
    assert signed_in.status_code == 303
    answers["console csv"] = await client.get("/console/violations/export.csv")
    assert [r.status_code for r in answers.values()] == [200, 200, 200, 401, 200]
    stored = {name: r.headers.get("cache-control") for name, r in answers.items()}
    assert stored == dict.fromkeys(answers, "no-store")
    # What says how it may be cached keeps it.
    stylesheet = await client.get("/console/static/console.css")
    assert stylesheet.headers["cache-control"] == "no-cache"


async def test_production_answers_tell_browsers_to_use_https_only(
    database_url: str, client: httpx.AsyncClient
) -> None:
    from service.app import create_app

    app = create_app(make_settings(database_url, environment="production", id_hash_key=SECRET))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            answers = [
                await c.get("/healthz"),
                await c.get("/v1/violations"),  # a refusal
                await c.get("/console/login"),
            ]
    assert [r.headers.get("strict-transport-security") for r in answers] == ["max-age=31536000"] * 3
    # Elsewhere (a developer's http://127.0.0.1) a browser would keep it for the whole host.
    assert "strict-transport-security" not in (await client.get("/healthz")).headers
