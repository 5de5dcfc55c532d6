"""The hot writes served as FlatRoutes (a JSON body, the unit of work) answer as FastAPI's own
routes do: two apps over two copies of one database, one with the routes FastAPI serves and one
with the FlatRoutes, get the same requests in the same order, good and bad, and must answer
with the same status, headers and body. Then the unit of work's guarantees on a flat route:
committed before the response starts, rolled back on an endpoint error, a failing commit
answered as an error, a serialization failure retried."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import select

from service.app import create_app
from service.auth import Role
from service.auth.keys import issue_key
from service.flat_route import FlatRoute
from service.settlements.models import Settlement
from service.settlements.store import SqlSettlementStore
from service.strict_query import guard_v1
from service.unit_of_work import SqlUnitOfWork
from tests import factories
from tests.factories import REGISTRY_URL, bill, make_settings, person_route, settlement_request

FLAT_WRITES = {
    ("POST", "/v1/settlements"),
    ("POST", "/v1/settlements/preview"),
    ("POST", "/v1/admissions"),
    ("POST", "/v1/admissions/{visit_id}/deposits"),
}
# Differ per request or per run, never by the route class.
VOLATILE_HEADERS = {"x-request-id", "date"}
VOLATILE_FIELDS = {"created_at", "recorded_at", "answered_at", "request_id"}


@dataclass
class Side:
    app: FastAPI
    client: httpx.AsyncClient
    keys: dict[str, dict[str, str]]


def _plain(app: FastAPI) -> None:
    """The same endpoints on FastAPI's own APIRoute, in place of the FlatRoutes."""
    routes = app.router.routes
    for i, r in enumerate(routes):
        if isinstance(r, FlatRoute) and any((m, r.path_format) in FLAT_WRITES for m in r.methods):
            routes[i] = APIRoute(
                r.path_format,
                r.endpoint,
                methods=list(r.methods),
                status_code=r.status_code,
                response_model=r.response_model,
                name=r.name,
            )
    # The /v1 guard (query names, JSON media type) wraps every route alike: the new ones too.
    guard_v1(app)


async def _side(tmp_path: Path, template: Path, name: str) -> AsyncIterator[Side]:
    db = tmp_path / f"{name}.db"
    shutil.copy(template, db)
    # Nothing shared between the two sides: no Redis (its status cache would answer the
    # second side's admission from the first's registry call).
    app = create_app(make_settings(f"sqlite+aiosqlite:///{db}", redis_url=None))
    flat = sum(isinstance(r, FlatRoute) for r in app.router.routes)
    if name == "plain":
        _plain(app)
    served_flat = sum(isinstance(r, FlatRoute) for r in app.router.routes)
    assert served_flat == (flat - len(FLAT_WRITES) if name == "plain" else flat)
    async with app.router.lifespan_context(app):
        await factories.seed_regions(app.state.sessionmaker)
        await factories.seed_shipped_policies(app.state.sessionmaker)
        keys = {}
        async with app.state.sessionmaker() as s:
            for role, scope in (
                ("hospital", {"hospital_code": factories.COUNTY_HOSPITAL}),
                ("auditor", {"region_prefix": "99"}),
            ):
                keys[role] = {"X-API-Key": (await issue_key(s, role=Role(role), **scope)).token}
            await s.commit()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Side(app, c, keys)


@pytest.fixture
async def sides(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[Side, Side]]:
    # Two databases side by side: SQLite files (one PostgreSQL database would be shared),
    # whichever backend the suite runs on.
    plain = _side(tmp_path, sqlite_template, "plain")
    flat = _side(tmp_path, sqlite_template, "flat")
    yield await anext(plain), await anext(flat)
    for gen in (flat, plain):
        with pytest.raises(StopAsyncIteration):
            await anext(gen)


def _shown(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}
    if response.headers.get("content-type", "").endswith("json"):
        body = _without_volatile(response.json())
        headers.pop("content-length", None)  # the volatile fields' lengths may differ
    else:
        body = response.text
    return response.status_code, headers, body


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "…" if k in VOLATILE_FIELDS else _without_volatile(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


# (name, method, path, key role or None, how the body is sent)
Request = tuple[str, str, str, str | None, dict[str, Any]]


def _json(payload: Any) -> dict[str, Any]:
    return {"json": payload}


def _raw(content: bytes, content_type: str | None = "application/json") -> dict[str, Any]:
    headers = {"content-type": content_type} if content_type else {}
    return {"content": content, "headers": headers}


def _settlement_requests(visit: str) -> list[Request]:
    good = settlement_request(visit)
    s = "/v1/settlements"
    no_bill = {k: v for k, v in good.items() if k != "bill"}
    preview = {k: v for k, v in good.items() if k != "his_settlement_id"}
    bad_total = {**bill("1.00"), "total": "x"}
    return [
        ("bad JSON", "POST", s, "hospital", _raw(b'{"visit_id": ')),
        ("bad JSON without a key", "POST", s, None, _raw(b'{"visit_id": ')),
        ("not UTF-8", "POST", s, "hospital", _raw(b'{"visit_id": "\xff\xfe"}')),
        ("a list", "POST", s, "hospital", _json([good])),
        ("a string", "POST", s, "hospital", _json("x")),
        ("empty", "POST", s, "hospital", _raw(b"")),
        ("no content type", "POST", s, "hospital", _raw(json.dumps(good).encode(), None)),
        ("text/plain", "POST", s, "hospital", _raw(json.dumps(good).encode(), "text/plain")),
        ("missing field", "POST", s, "hospital", _json(no_bill)),
        ("extra field", "POST", s, "hospital", _json({**good, "extra": 1})),
        (
            "wrong type",
            "POST",
            s,
            "hospital",
            _json({**good, "bill": bad_total}),
        ),
        ("oversized", "POST", s, "hospital", _json({**good, "bill": bill("99999999.00")})),
        ("nested error", "POST", s, "hospital", _json({**good, "bill": {"total": "1"}})),
        ("no key, bad body", "POST", s, None, _json(no_bill)),
        ("auditor, bad body", "POST", s, "auditor", _json(no_bill)),
        ("auditor", "POST", s, "auditor", _json(good)),
        ("bad query and body", "POST", f"{s}?trace=all", "hospital", _json(no_bill)),
        ("bad query", "POST", f"{s}?trace=all", "hospital", _json(good)),
        ("preview", "POST", f"{s}/preview", "hospital", _json(preview)),
        ("preview, extra", "POST", f"{s}/preview", "hospital", _json(good)),
        ("preview, no key", "POST", f"{s}/preview", None, _json(good)),
        ("unknown visit", "POST", s, "hospital", _json(settlement_request("V-none"))),
        (
            "charset",
            "POST",
            s,
            "hospital",
            _raw(json.dumps(good).encode(), "application/json; charset=utf-8"),
        ),
        ("replay", "POST", s, "hospital", _json(good)),
        ("replay, summary", "POST", f"{s}?trace=summary", "hospital", _json(good)),
        ("conflict", "POST", s, "hospital", _json({**good, "bill": bill("20000.00", "600.00")})),
        ("again, other his id", "POST", s, "hospital", _json({**good, "his_settlement_id": "S2"})),
    ]


def _admission_requests() -> list[Request]:
    good = factories.admission_request()
    a = "/v1/admissions"
    deposits = f"{a}/{good['visit_id']}/deposits"
    deposit = {"receipt_no": "D1", "amount": "500.00", "taken_at": good["admitted_at"]}
    return [
        ("admission, bad JSON", "POST", a, "hospital", _raw(b"[1,")),
        ("admission, extra", "POST", a, "hospital", _json({**good, "extra": True})),
        ("admission, wrong type", "POST", a, "hospital", _json({**good, "referral": 3})),
        (
            "admission, resident id in text",
            "POST",
            a,
            "hospital",
            _json({**good, "visit_id": factories.resident_id(seq=12)}),
        ),
        ("admission, auditor", "POST", a, "auditor", _json(good)),
        ("admission, no key", "POST", a, None, _json({})),
        ("admission", "POST", a, "hospital", _json(good)),
        ("admission, replay", "POST", a, "hospital", _json(good)),
        ("admission, conflict", "POST", a, "hospital", _json({**good, "name": "李四"})),
        ("deposit, bad", "POST", deposits, "hospital", _json({**deposit, "amount": "1.001"})),
        ("deposit, unknown visit", "POST", f"{a}/V-none/deposits", "hospital", _json(deposit)),
        ("deposit", "POST", deposits, "hospital", _json(deposit)),
        ("deposit, replay", "POST", deposits, "hospital", _json(deposit)),
        ("deposit, auditor", "POST", deposits, "auditor", _json(deposit)),
    ]


async def _send(side: Side, request: Request) -> httpx.Response:
    _, method, path, role, sent = request
    headers = {**(side.keys[role] if role else {}), **sent.get("headers", {})}
    kwargs = {k: v for k, v in sent.items() if k != "headers"}
    return await side.client.request(method, path, headers=headers, **kwargs)


async def _visit(side: Side) -> str:
    async with side.app.state.sessionmaker() as s:
        row = await factories.make_admission(s, visit_id="V-FLAT-1")
    return str(row.visit_id)


async def _answers_alike(sides: tuple[Side, Side], requests: list[Request]) -> list[int]:
    statuses = []
    for request in requests:
        plain, flat = [_shown(await _send(side, request)) for side in sides]
        assert flat == plain, request[0]
        statuses.append(plain[0])
    return statuses


async def test_settlements_answer_alike(sides: tuple[Side, Side]) -> None:
    visits = {await _visit(side) for side in sides}
    assert len(visits) == 1  # the same database, the same visit
    statuses = await _answers_alike(sides, _settlement_requests(visits.pop()))
    # Every kind of answer was reached: errors before and after the key, created, replayed.
    assert {401, 403, 404, 409, 422, 201, 200} <= set(statuses)


async def test_admissions_and_deposits_answer_alike(sides: tuple[Side, Side]) -> None:
    with respx.mock(base_url=REGISTRY_URL, assert_all_called=False) as registry:
        person_route(registry, factories.resident_id(seq=11)).respond(
            200, json=factories.registry_person()
        )
        statuses = await _answers_alike(sides, _admission_requests())
    assert {401, 403, 404, 409, 422, 201} <= set(statuses)


def _fail(exc: Exception) -> Callable[..., Any]:
    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


def _settling(visit: str, name: str) -> Request:
    return (name, "POST", "/v1/settlements", "hospital", _json(settlement_request(visit)))


async def _stored(side: Side) -> list[Settlement]:
    async with side.app.state.sessionmaker() as s:
        return list((await s.exec(select(Settlement))).all())


OUTAGE = OperationalError("SELECT 1", {}, ConnectionRefusedError("the database is down"))


@pytest.mark.parametrize(
    ("owner", "method"),
    [
        (SqlSettlementStore, "read_visit"),  # the database down at the first statement
        # The commit runs before the response: when it fails, the caller hears the failure.
        (SqlUnitOfWork, "commit"),
    ],
)
async def test_a_database_outage_answers_alike_and_stores_nothing(
    sides: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch, owner: type, method: str
) -> None:
    visit = {await _visit(side) for side in sides}.pop()
    monkeypatch.setattr(owner, method, _fail(OUTAGE))
    assert await _answers_alike(sides, [_settling(visit, method)]) == [503]
    monkeypatch.undo()
    for side in sides:
        assert await _stored(side) == []


async def test_the_commit_comes_before_the_response(
    sides: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, flat = sides
    visit = await _visit(flat)
    events: list[str] = []
    commit = SqlUnitOfWork.commit

    async def recorded(self: SqlUnitOfWork) -> None:
        await commit(self)
        events.append("committed")

    monkeypatch.setattr(SqlUnitOfWork, "commit", recorded)
    app = flat.app

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                events.append(f"response {message['status']}")
            await send(message)

        await app(scope, receive, sending)

    transport = httpx.ASGITransport(app=watched)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            "/v1/settlements", json=settlement_request(visit), headers=flat.keys["hospital"]
        )
    assert response.status_code == 201
    # (The key's look-up, a cache miss, is a unit of work of its own and commits first.)
    assert events[-2:] == ["committed", "response 201"]
    assert len(await _stored(flat)) == 1


async def test_an_endpoint_error_after_a_write_rolls_it_back(
    sides: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = {await _visit(side) for side in sides}.pop()
    record = SqlSettlementStore.record

    async def recorded_then_broken(self: SqlSettlementStore, *args: Any, **kwargs: Any) -> Any:
        await record(self, *args, **kwargs)
        raise RuntimeError("after the write")

    monkeypatch.setattr(SqlSettlementStore, "record", recorded_then_broken)
    request = _settling(visit, "broken")
    assert await _answers_alike(sides, [request]) == [500]
    monkeypatch.undo()
    for side in sides:
        assert await _stored(side) == []
    # And the next attempt is a first settlement, not a replay of a half-written one.
    again = await _answers_alike(sides, [request])
    assert again == [201]
    for side in sides:
        assert len(await _stored(side)) == 1


class _Serialization(Exception):
    sqlstate = "40001"


async def test_a_serialization_failure_is_retried_alike(
    sides: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = {await _visit(side) for side in sides}.pop()
    record = SqlSettlementStore.record
    calls: list[int] = []

    async def once_contended(self: SqlSettlementStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) % 2:  # each side's first attempt
            raise DBAPIError("INSERT", {}, _Serialization())
        return await record(self, *args, **kwargs)

    monkeypatch.setattr(SqlSettlementStore, "record", once_contended)
    request = _settling(visit, "contended")
    answers = []
    for side in sides:
        before = len(calls)
        answers.append(_shown(await _send(side, request)))
        assert len(calls) == before + 2  # the first attempt failed, the retry stored it
    assert answers[0] == answers[1]
    assert answers[1][0] == 201
    for side in sides:
        assert len(await _stored(side)) == 1
