"""Privacy: a full resident ID number never leaves the request that brought it.

Drives admissions, person status, deposits, settlements, slips, violation queries and exports,
and a few refused requests, with real-looking ID numbers, then looks for any of those numbers
(18 characters, and the 15-character old form) in: every log line as written (the JSON on
stderr) and every log message before formatting, every response to every role, the metrics
text, and every text column of every table. Stored people are a keyed hash (HMAC) and a mask."""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from fastapi import FastAPI

from service.base import SQLModel
from service.observability import JsonFormatter
from tests import factories

REGISTRY = "http://registry.test"


def _people(n: int) -> list[str]:
    rng = random.Random(20261123)
    ids = []
    for i in range(n):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(60 * 365))
        region = "420111" if i % 2 else "500112"
        ids.append(factories.resident_id(region=region, born=born, seq=rng.randrange(1, 999)))
    return ids


PEOPLE = _people(6)


@pytest.fixture
def written_logs() -> Iterator[tuple[io.StringIO, list[logging.LogRecord]]]:
    """The log lines as the service writes them, and the raw records before formatting."""
    stream = io.StringIO()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    written = logging.StreamHandler(stream)
    written.setFormatter(JsonFormatter())
    keep = Keep()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(written)
    root.addHandler(keep)
    try:
        yield stream, records
    finally:
        root.removeHandler(written)
        root.removeHandler(keep)
        root.setLevel(old_level)


def _forms(id_number: str) -> list[str]:
    """The 18-character number, with a lower-case x, and its 15-character old form."""
    old = id_number[:6] + id_number[8:17]
    return [id_number, id_number.lower(), old]


def _leaks(text: str) -> list[str]:
    return [form for person in PEOPLE for form in _forms(person) if form in text]


def _registry(router: respx.MockRouter) -> None:
    for i, person in enumerate(PEOPLE):
        route = router.get(f"/v1/persons/{person}")
        if i == len(PEOPLE) - 1:
            route.respond(503, json={"error": f"registry broke on {person}"})
        else:
            route.respond(200, json=factories.registry_person("registered_poor"))


async def test_no_full_id_number_in_logs_responses_metrics_or_tables(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    admin_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    written_logs: tuple[io.StringIO, list[logging.LogRecord]],
) -> None:
    stream, records = written_logs
    seen: list[tuple[str, str]] = []

    async def call(method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        response = await client.request(method, path, headers=headers, **kw)
        assert response.status_code < 500, (path, response.text[:300])
        seen.append((f"{method} {path.split('/')[2] if '/' in path else path}", response.text))
        seen.extend((f"header {k}", v) for k, v in response.headers.items())
        return response

    with respx.mock(base_url=REGISTRY, assert_all_called=False) as router:
        _registry(router)
        visits = []
        for i, person in enumerate(PEOPLE):
            body = factories.admission_request(
                visit_id=f"P-{i}",
                id_number=person,
                name="张三丰",
                deposit_intended="500.00" if i % 3 == 0 else "0.00",
            )
            admitted = await call("POST", "/v1/admissions", hospital_headers, json=body)
            if admitted.status_code == 201:
                visits.append(f"P-{i}")
            await call("POST", "/v1/admissions", hospital_headers, json=body)  # replay
            await call("GET", f"/v1/persons/{person}/status", hospital_headers)
            await call("GET", f"/v1/persons/{person}/status", auditor_headers)
            await call("GET", f"/v1/persons/{person}/status", other_hospital_headers)
            await call("GET", f"/v1/persons/{person.lower()}/status", hospital_headers)
        assert visits, "no admission was accepted: the test would prove nothing"
        settled_ids: list[int] = []
        for visit in visits:
            await call(
                "POST",
                f"/v1/admissions/{visit}/deposits",
                hospital_headers,
                json={"amount": "300.00", "taken_at": "2026-03-10T09:00:00+08:00"},
            )
            await call("GET", f"/v1/admissions/{visit}", hospital_headers)
            await call(
                "GET",
                f"/v1/admissions/{visit}",
                auditor_headers,
                params={"hospital_code": factories.COUNTY_HOSPITAL},
            )
            settled = await call(
                "POST",
                "/v1/settlements",
                hospital_headers,
                json={
                    "visit_id": visit,
                    "his_settlement_id": f"S-{visit}",
                    "discharged_at": "2026-03-15T10:00:00+08:00",
                    "bill": {
                        "total": "12000.00",
                        "in_policy": "11000.00",
                        "out_of_policy": "1000.00",
                    },
                },
            )
            await call("GET", "/v1/settlements", hospital_headers, params={"visit_id": visit})
            if settled.status_code == 201:
                settled_ids.append(settled.json()["id"])
                sid = settled.json()["id"]
                await call("GET", f"/v1/settlements/{sid}", hospital_headers)
                await call("GET", f"/v1/settlements/{sid}/slip", hospital_headers)
                await call("GET", f"/v1/settlements/{sid}", auditor_headers)
        assert settled_ids, "no settlement was stored: the test would prove nothing"
        violations = await call("GET", "/v1/violations", auditor_headers)
        assert violations.json()["items"], "no violation was booked"
        for path in ("/v1/violations", "/v1/violations/scoreboard", "/v1/violations/chain-heads"):
            await call("GET", path, auditor_headers)
            await call("GET", path, admin_headers)
        await call("GET", "/v1/violations/export.csv", auditor_headers)
        await call("GET", "/v1/indicators", auditor_headers)
        # Refused requests: a wrong check digit, an unknown field, a body for another hospital.
        bad = PEOPLE[0][:-1] + ("0" if PEOPLE[0][-1] != "0" else "1")
        for body in (
            factories.admission_request(visit_id="B-1", id_number=bad),
            {
                **factories.admission_request(visit_id="B-2", id_number=PEOPLE[1]),
                "extra": PEOPLE[1],
            },
            factories.admission_request(visit_id="B-3", id_number=PEOPLE[2] + "9"),
        ):
            await call("POST", "/v1/admissions", hospital_headers, json=body)
        await call("GET", f"/v1/persons/{bad}/status", hospital_headers)
        metrics = await client.get("/metrics", headers=admin_headers)
        seen.append(("metrics", metrics.text))

    leaks = [(where, _leaks(text)) for where, text in seen if _leaks(text)]
    assert leaks == [], f"full ID numbers in responses: {leaks[:5]}"
    written = stream.getvalue()
    assert written.count("\n") >= len(PEOPLE) * 4  # the access log was captured
    assert _leaks(written) == [], [line for line in written.splitlines() if _leaks(line)][:3]
    # Before redaction too, for the service's own loggers (httpx's request lines, which also
    # carry the test client's URLs, are redacted by the formatter, checked above).
    own = [r for r in records if r.name.startswith("settlecheck")]
    raw = [r.getMessage() + str(getattr(r, "fields", "")) + str(r.exc_text) for r in own]
    assert [m for m in raw if _leaks(m)] == [], "a full ID number was logged (before redaction)"
    assert await _stored_leaks(app) == []
    await _assert_people_are_keyed_hashes(app, visits)


async def _stored_leaks(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    async with app.state.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await conn.execute(sa.select(table))).all()
            for row in rows:
                for column, value in zip(table.columns, row, strict=True):
                    if value is not None and _leaks(str(value)):
                        found.append((table.name, column.name))
    return found


async def _assert_people_are_keyed_hashes(app: FastAPI, visits: list[str]) -> None:
    from service.admissions.models import Admission

    hasher = app.state.id_hasher
    expected = {hasher.resident(p).person_key: hasher.resident(p).masked for p in PEOPLE}
    async with app.state.sessionmaker() as s:
        rows = (await s.exec(sa.select(Admission.person_key, Admission.person_masked))).all()  # type: ignore[call-overload]
    assert len(rows) >= len(visits)
    for key, masked in rows:
        assert expected[key] == masked
        assert masked[6:14] == "********"
