"""Every operation's example in the OpenAPI document works as sent ("Try it out" on /docs):
one visit's life on the demo data, each request built from the document alone."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.roster import demo as demo_roster
from service.settings import Settings
from tests import factories
from tests.factories import KeyFactory, make_settings

# Examples that a fresh visit's life answers with a documented refusal, not a success: a share
# discharged yesterday is inside the policy's grace period (no defaulter mark, so none to lift),
# and last month's statement of a new hospital owes nothing to pay.
REFUSED = {
    ("post", "/v1/receivables/{receivable_id}/defaulter"): "grace_period_running",
    ("post", "/v1/receivables/{receivable_id}/defaulter/removal"): "not_marked",
    ("post", "/v1/clearing/statements/{statement_id}/payments"): "nothing_owed",
}
# Last year's year-end: a county new today holds no stay of that year (ADR 0021, update), unless
# the example stay was admitted last year (the first days of January): then it runs.
REFUSED_UNLESS_LAST_YEAR = {("post", "/v1/year-end/runs"): "plan_year_before_records"}
DETAIL_FILE = "结算号,就诊号,金额\n1,ZY2026-000123,0.00\n"

# Every operation in the order a desk and an office would use them, with the role that calls it.
JOURNEY: list[tuple[str, str, str]] = [
    ("get", "/healthz", "none"),
    ("get", "/readyz", "none"),
    ("get", "/metrics", "admin"),
    # The county's directory, as an admin registered it on day one (docs/directory.md).
    ("put", "/v1/regions/{region_code}", "admin"),
    ("get", "/v1/regions", "hospital"),
    ("put", "/v1/hospitals/{hospital_code}", "admin"),
    ("get", "/v1/hospitals", "auditor"),
    ("get", "/v1/hospitals/{hospital_code}", "hospital"),
    ("get", "/v1/persons/{id_number}/status", "hospital"),
    ("get", "/fhir/metadata", "hospital"),
    ("post", "/nhsa", "hospital"),
    ("post", "/fhir/CoverageEligibilityRequest", "hospital"),
    ("post", "/v1/admissions", "hospital"),
    ("get", "/v1/admissions/{visit_id}", "hospital"),
    ("post", "/v1/admissions/{visit_id}/deposits", "hospital"),
    ("get", "/v1/policies", "hospital"),
    ("post", "/v1/settlements/preview", "hospital"),
    ("post", "/fhir/Claim", "hospital"),
    ("post", "/v1/settlements", "hospital"),
    ("get", "/v1/settlements", "hospital"),
    ("get", "/v1/settlements/{settlement_id}", "hospital"),
    ("get", "/fhir/ClaimResponse/{response_id}", "hospital"),
    ("get", "/v1/settlements/{settlement_id}/slip", "hospital"),
    ("get", "/v1/violations", "auditor"),
    ("get", "/v1/violations/{violation_id}", "auditor"),
    ("post", "/v1/violations/{violation_id}/transitions", "hospital"),
    ("get", "/v1/violations/export.{fmt}", "auditor"),
    ("get", "/v1/violations/scoreboard", "auditor"),
    ("get", "/v1/violations/scoreboard/export.{fmt}", "auditor"),
    ("get", "/v1/violations/verify", "auditor"),
    ("get", "/v1/violations/chain-heads", "auditor"),
    ("post", "/v1/violations/verify", "auditor"),
    ("get", "/v1/indicators", "auditor"),
    # After the slip: the patient's share, and the funds' clearing of last month.
    ("get", "/v1/receivables", "hospital"),
    ("get", "/v1/receivables/{receivable_id}", "hospital"),
    ("post", "/v1/receivables/{receivable_id}/payments", "hospital"),
    ("post", "/v1/receivables/{receivable_id}/instalments", "hospital"),
    ("post", "/v1/receivables/{receivable_id}/reminders", "hospital"),
    ("post", "/v1/receivables/{receivable_id}/defaulter", "hospital"),
    ("post", "/v1/receivables/{receivable_id}/defaulter/removal", "hospital"),
    ("get", "/v1/receivables/overdue", "hospital"),
    ("get", "/v1/receivables/defaulters", "auditor"),
    ("get", "/v1/receivables/indicators", "auditor"),
    ("get", "/v1/clearing/funds", "auditor"),
    ("post", "/v1/clearing/funds", "admin"),
    ("get", "/v1/clearing/statement", "auditor"),
    ("post", "/v1/clearing/statements", "auditor"),
    ("get", "/v1/clearing/statements", "auditor"),
    ("get", "/v1/clearing/statements/{statement_id}", "auditor"),
    ("get", "/v1/clearing/statements/{statement_id}/export", "auditor"),
    ("post", "/v1/clearing/statements/{statement_id}/payments", "admin"),
    ("post", "/v1/clearing/reconciliation", "auditor"),
    ("get", "/v1/clearing/reconciliations", "auditor"),
    ("get", "/v1/clearing/reconciliations/{reconciliation_id}", "auditor"),
    ("post", "/v1/policies/whatif", "auditor"),
    ("post", "/v1/year-end/runs", "auditor"),
    ("get", "/v1/year-end/payments", "auditor"),
    ("get", "/v1/year-end/payments/export.{fmt}", "auditor"),
    ("post", "/v1/settlements/{settlement_id}/reversal", "hospital"),
    ("post", "/fhir/Task", "hospital"),
    ("post", "/v1/admissions/{visit_id}/reversal", "hospital"),
    ("get", "/v1/keys", "admin"),
    ("post", "/v1/keys", "admin"),
    ("post", "/v1/keys/{key_id}/revoke", "admin"),
    ("post", "/v1/policies", "admin"),
    ("get", "/v1/policies/history", "admin"),
    ("post", "/v1/policies/{withdraw_hash}/withdrawal", "admin"),
    ("get", "/v1/policies/{content_hash}", "admin"),
]


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The embedded default's situation: no registry configured, the demo roster answers.
    return make_settings(database_url, registry_url=None)


@pytest.fixture
async def demo_app(app: FastAPI) -> FastAPI:
    async with app.state.sessionmaker() as session:
        await demo_roster.seed(session, app.state.id_hasher)
        await session.commit()
    return app


@pytest.fixture
async def keys(make_key: KeyFactory) -> dict[str, dict[str, str]]:
    return {
        "none": {},
        "hospital": await make_key("hospital", hospital_code=factories.COUNTY_HOSPITAL),
        "auditor": await make_key("auditor", region_prefix="99"),
        "admin": await make_key("admin"),
    }


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document["paths"].items() for method in ops}


def _request(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    operation = document["paths"][path][method]
    url, query = path, {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            assert "example" in parameter, f"{method} {path}: no example for {parameter['name']}"
            url = url.replace("{" + parameter["name"] + "}", str(parameter["example"]))
        elif parameter["in"] == "query" and parameter.get("required"):
            query[parameter["name"]] = parameter["example"]
    kwargs: dict[str, Any] = {"params": query}
    body = operation.get("requestBody")
    if body is not None and "multipart/form-data" in body["content"]:
        kwargs["files"] = {"file": ("detail.csv", DETAIL_FILE.encode())}
    elif body is not None:
        content = body["content"]["application/json"]
        assert "example" in content, f"{method} {path}: the request body has no example"
        kwargs["json"] = content["example"]
    return url, kwargs


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def test_the_journey_covers_every_operation() -> None:
    document = create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()
    assert _operations(document) == {(m, p) for m, p, _ in JOURNEY}


async def test_every_example_is_accepted_in_order(
    demo_app: FastAPI,
    client: httpx.AsyncClient,
    document: dict[str, Any],
    keys: dict[str, dict[str, str]],
) -> None:
    answers: dict[tuple[str, str], httpx.Response] = {}
    for method, path, role in JOURNEY:
        url, kwargs = _request(document, method, path)
        answer = await client.request(method, url, headers=keys[role], **kwargs)
        answers[(method, path)] = answer
        if (method, path) in REFUSED:
            assert answer.json()["code"] == REFUSED[(method, path)], answer.text[:400]
            continue
        if (method, path) in REFUSED_UNLESS_LAST_YEAR and answer.status_code >= 400:
            code = REFUSED_UNLESS_LAST_YEAR[(method, path)]
            assert answer.json()["code"] == code, answer.text[:400]
            continue
        assert answer.status_code < 400, f"{method.upper()} {url}: {answer.text[:400]}"

    admission = answers[("post", "/v1/admissions")].json()
    assert admission["pay_after_treatment"]["eligible"] is True
    assert answers[("post", "/nhsa")].json()["infcode"] == 0  # NHSA answers errors with 200
    settled = answers[("post", "/v1/settlements")].json()
    assert settled["status"] == "settled"
    assert answers[("post", "/v1/settlements/{settlement_id}/reversal")].json()["status"] == (
        "reversed"
    )


def test_examples_are_dated_inside_the_stay() -> None:
    from datetime import date

    from service.openapi_examples import request_bodies

    bodies = request_bodies(date(2027, 1, 3))  # a stay across New Year
    admitted = bodies[("post", "/v1/admissions")]["admitted_at"]
    deposit = bodies[("post", "/v1/admissions/{visit_id}/deposits")]["taken_at"]
    discharged = bodies[("post", "/v1/settlements")]["discharged_at"]
    assert admitted < deposit < discharged
    assert re.match(r"^2027-01-02T", discharged)
