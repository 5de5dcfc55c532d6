"""Console sessions live on the server: logout ends them everywhere, and no other site can sign a
browser in (login CSRF) or post a form on its behalf."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from tests import factories as f

ORIGIN = "http://testserver"
COOKIE = "settlecheck_console"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
async def replica(app: FastAPI) -> AsyncIterator[FastAPI]:
    """A second app process on the same database and Redis: what another replica sees."""
    other = create_app(app.state.settings)
    async with other.router.lifespan_context(other):
        yield other


def _browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN})


async def _sign_in(browser: httpx.AsyncClient, key: str) -> str:
    response = await browser.post("/console/login", data={"api_key": key})
    assert response.status_code == 303, response.text
    return browser.cookies[COOKIE]


async def test_logout_ends_the_session_on_every_replica(
    app: FastAPI, replica: FastAPI, auditor_headers: dict[str, str]
) -> None:
    async with _browser(app) as first, _browser(replica) as second:
        cookie = await _sign_in(first, auditor_headers["X-API-Key"])
        second.cookies.set(COOKIE, cookie, path="/console")
        page = await second.get("/console/violations")
        assert page.status_code == 200
        out = await second.post("/console/logout", data={"csrf": _csrf(page.text)})
        assert out.status_code == 303
        # The cookie a thief copied before the logout is worth nothing afterwards, anywhere.
        async with _browser(app) as thief:
            thief.cookies.set(COOKIE, cookie, path="/console")
            after = await thief.get("/console/violations")
            assert after.status_code == 303
            assert after.headers["location"].startswith("/console/login?")
        assert (await first.get("/console/violations")).status_code == 303


async def test_the_cookie_is_an_opaque_token_stored_only_as_a_hash(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    import sqlalchemy as sa

    async with _browser(app) as browser:
        cookie = await _sign_in(browser, auditor_headers["X-API-Key"])
    prefix = auditor_headers["X-API-Key"].split("_")[1]
    assert prefix not in cookie
    async with app.state.sessionmaker() as session:
        rows = (await session.exec(sa.text("SELECT * FROM console_sessions"))).all()  # type: ignore[call-overload]
    assert len(rows) == 1
    assert all(cookie not in str(value) for value in rows[0])


async def test_signing_in_again_ends_the_previous_session(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    async with _browser(app) as browser:
        old = await _sign_in(browser, auditor_headers["X-API-Key"])
        new = await _sign_in(browser, auditor_headers["X-API-Key"])
        assert new != old
        assert (await browser.get("/console/violations")).status_code == 200
    async with _browser(app) as other:
        other.cookies.set(COOKIE, old, path="/console")
        assert (await other.get("/console/violations")).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
        {"Referer": "https://evil.example/login.html"},
        {},
    ],
    ids=["foreign origin", "null origin", "look-alike origin", "foreign referer", "neither"],
)
async def test_a_login_posted_from_another_site_is_refused(
    app: FastAPI, auditor_headers: dict[str, str], headers: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as browser:
        response = await browser.post(
            "/console/login", data={"api_key": auditor_headers["X-API-Key"]}, headers=headers
        )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "表单来源不明" in response.text  # cross_site_form, in words
    assert "sck_" not in response.text  # nothing the other site sent is shown back


async def test_a_login_through_a_proxy_matches_the_forwarded_host(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as b:
        response = await b.post(
            "/console/login",
            data={"api_key": auditor_headers["X-API-Key"]},
            headers={
                "Origin": "https://audit.example.gov.cn",
                "X-Forwarded-Host": "audit.example.gov.cn",
            },
        )
        assert response.status_code == 303
        same_site = await b.post(
            "/console/login",
            data={"api_key": auditor_headers["X-API-Key"]},
            headers={"Referer": "http://10.0.0.7:8000/console/login"},
        )
        assert same_site.status_code == 303


async def test_other_console_forms_from_another_site_are_refused(
    app: FastAPI, hospital_headers: dict[str, str]
) -> None:
    (violation_id,) = await f.book(app.state.sessionmaker, f.finding(visit_id="V1"))
    async with _browser(app) as browser:
        await _sign_in(browser, hospital_headers["X-API-Key"])
        page = await browser.get(f"/console/violations/{violation_id}")
        csrf = _csrf(page.text)
        foreign = {"Origin": "https://evil.example"}
        moved = await browser.post(
            f"/console/violations/{violation_id}/transitions",
            data={"to_status": "rectifying", "csrf": csrf},
            headers=foreign,
        )
        assert moved.status_code == 403
        out = await browser.post("/console/logout", data={"csrf": csrf}, headers=foreign)
        assert out.status_code == 403
        detail = await browser.get(f"/v1/violations/{violation_id}", headers=hospital_headers)
        assert detail.json()["status"] == "open"
        assert (await browser.get("/console/violations")).status_code == 200


async def test_logout_without_a_session_goes_to_the_sign_in_page(app: FastAPI) -> None:
    async with _browser(app) as browser:
        response = await browser.post("/console/logout", data={"csrf": "0" * 32})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


class _CountedPrefixQueries:
    """SqlKeyStore.by_prefix (one query each), counting the prefixes asked for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from service.auth.store import SqlKeyStore

        self.prefixes: list[str] = []
        real = SqlKeyStore.by_prefix

        async def counted(store: SqlKeyStore, prefix: str) -> object:
            self.prefixes.append(prefix)
            return await real(store, prefix)

        monkeypatch.setattr(SqlKeyStore, "by_prefix", counted)


async def test_a_flood_of_wrong_keys_at_the_sign_in_shares_the_apis_key_cache(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in checks a pasted key as the API checks a header: an unknown prefix costs one
    query in a few seconds, whichever way it came (ADR 0006), not one per attempt."""
    app.state.key_cache.ttl = 60
    lookups = _CountedPrefixQueries(monkeypatch)
    async with _browser(app) as browser:
        for _ in range(5):
            refused = await browser.post("/console/login", data={"api_key": "sck_deadbeef_guess"})
            assert refused.status_code == 401
            assert "密钥无效或已停用" in refused.text
        api = await browser.get("/v1/policies", headers={"X-API-Key": "sck_deadbeef_guess"})
        assert api.status_code == 401
        too_long = "sck_" + "f" * 17 + "_guess"  # longer than any stored prefix
        assert (await browser.post("/console/login", data={"api_key": too_long})).status_code == 401
    assert lookups.prefixes == ["deadbeef"]


async def test_signing_in_counts_against_the_keys_rate_limit(
    app: FastAPI, auditor_headers: dict[str, str]
) -> None:
    """A sign-in is one of the key's requests, as its API calls and console pages are: a key
    past its limit is refused at the sign-in too, with the time to wait."""
    from service.ratelimit import KeyRateLimiter

    app.state.rate_limiter = KeyRateLimiter(app.state.rate_limiter.cache, per_minute=2)
    async with _browser(app) as browser:
        for _ in range(2):
            await _sign_in(browser, auditor_headers["X-API-Key"])
        refused = await browser.post(
            "/console/login", data={"api_key": auditor_headers["X-API-Key"]}
        )
    assert refused.status_code == 429, refused.text
    assert "retry-after" in refused.headers
