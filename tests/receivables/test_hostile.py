"""Every receivables route used as a hostile or careless HIS would: amounts of nothing, below
nothing or more than owed, days no event can have, a reminder from the future, another
hospital's receivable, a fund's or an auditor's key, a replay with another body, instalments
that do not add up. Each answer is RFC 9457 problem details with a stable code, and the field
at fault where one is; nothing is recorded."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.base import utcnow
from service.china_time import CHINA_TZ
from tests.factories import AT_DISCHARGE, KeyFactory, clock_at, open_receivable, receivable_of
from tests.factories import receivable_payment as payment

PROBLEM = "application/problem+json"
ROUTES = ["payments", "instalments", "reminders", "defaulter", "defaulter/removal"]


def assert_problem(answer: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body = answer.json()
    assert body["status"] == status, body
    assert body["title"], body
    assert body["detail"], body
    errors = body.get("errors", [])
    if body["code"] == "validation_error":  # the request's model refused it: the error's code,
        # and the field as FastAPI locates it (under "")
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)], body
    else:
        assert body["code"] == code, body
        assert [e.get("field") for e in errors] == ([field] if field else []), body


def _plan(*parts: tuple[str, str]) -> dict[str, Any]:
    return {"instalments": [{"due_on": day, "amount": amount} for day, amount in parts]}


def _body(route: str, receivable: dict[str, Any]) -> dict[str, Any]:
    """A body each route would accept (schedule: agreed at discharge)."""
    return {
        "payments": payment("10.00"),
        "instalments": _plan(("2024-04-30", receivable["amount_due"])),
        "reminders": {"channel": "sms", "sent_at": "2024-04-20T09:00:00+08:00"},
        "defaulter": {"reason": "拒不缴费"},
        "defaulter/removal": {"reason": "误标"},
    }[route]


async def assert_nothing_recorded(
    client: httpx.AsyncClient, headers: dict[str, str], receivable: dict[str, Any]
) -> None:
    after = await receivable_of(client, headers, receivable["settlement_id"])
    assert (after["paid"], after["payments"], after["instalments"], after["reminders"]) == (
        "0.00",
        [],
        [],
        [],
    )
    assert after["defaulter"] is False


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0", "invalid_payment"),
        ("0.00", "invalid_payment"),
        ("-5.00", "greater_than_equal"),
        (-5, "greater_than_equal"),
        ("-0.00", "amount_not_plain"),
        ("0.001", "decimal_max_places"),
        ("1e3", "amount_not_plain"),
        (True, "bool_not_number"),
        ("10000000.01", "amount_implausible"),
    ],
)
async def test_a_payment_of_nothing_or_less_is_refused_naming_the_amount(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    amount: Any,
    code: str,
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    answer = await client.post(
        f"/v1/receivables/{receivable['id']}/payments",
        json=payment("1.00") | {"amount": amount},
        headers=hospital_headers,
    )
    assert_problem(answer, 422, code, "amount")
    await assert_nothing_recorded(client, hospital_headers, receivable)


async def test_a_payment_of_more_than_is_owed_is_refused_and_then_the_rest_is_taken(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}/payments"
    owed = Decimal(receivable["amount_due"])
    too_much = await client.post(
        url, json=payment(str(owed + Decimal("0.01"))), headers=hospital_headers
    )
    assert_problem(too_much, 409, "payment_exceeds_due", "amount")
    await assert_nothing_recorded(client, hospital_headers, receivable)
    exact = await client.post(url, json=payment(str(owed), "P2"), headers=hospital_headers)
    assert (exact.status_code, exact.json()["status"]) == (201, "paid")


@pytest.mark.parametrize(("route", "field"), [("payments", "paid_at"), ("reminders", "sent_at")])
async def test_a_payment_or_reminder_from_the_future_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    route: str,
    field: str,
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    ahead = (utcnow() + timedelta(hours=1)).astimezone(CHINA_TZ).isoformat()
    body = _body(route, receivable) | {field: ahead}
    answer = await client.post(
        f"/v1/receivables/{receivable['id']}/{route}", json=body, headers=hospital_headers
    )
    assert_problem(answer, 422, "implausible_date", field)
    await assert_nothing_recorded(client, hospital_headers, receivable)


@pytest.mark.parametrize(
    ("parts", "status", "code", "field"),
    [
        ((("2024-04-10", "100.00"),), 422, "invalid_schedule", "instalments"),  # short
        (
            (("2024-04-10", "SHARE"), ("2024-05-10", "0.01")),
            422,
            "invalid_schedule",
            "instalments",
        ),  # more than the share
        (
            (("2024-04-10", "0.00"), ("2024-05-10", "SHARE")),
            422,
            "invalid_schedule",
            "instalments.0.amount",
        ),
        (
            (("2024-04-10", "-1.00"), ("2024-05-10", "SHARE")),
            422,
            "greater_than_equal",
            "instalments.0.amount",
        ),
        ((("2999-01-01", "SHARE"),), 422, "implausible_date", "instalments.0.due_on"),
        ((("2024-03-09", "SHARE"),), 422, "invalid_schedule", "instalments.0.due_on"),
        (
            (("2024-04-10", "1.00"), ("2024-04-10", "REST")),
            422,
            "invalid_schedule",
            "instalments.1.due_on",
        ),  # the same day twice
        ((("2024-13-01", "SHARE"),), 422, "date_from_datetime_parsing", "instalments.0.due_on"),
    ],
)
async def test_a_schedule_that_does_not_hold_is_refused_naming_its_field(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    parts: tuple[tuple[str, str], ...],
    status: int,
    code: str,
    field: str,
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    share = Decimal(receivable["amount_due"])
    amounts = {"SHARE": str(share), "REST": str(share - 1)}
    body = _plan(*((day, amounts.get(amount, amount)) for day, amount in parts))
    with clock_at(AT_DISCHARGE):
        answer = await client.post(
            f"/v1/receivables/{receivable['id']}/instalments", json=body, headers=hospital_headers
        )
    assert_problem(answer, status, code, field)
    await assert_nothing_recorded(client, hospital_headers, receivable)


async def test_a_paid_share_gets_no_schedule(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}"
    with clock_at(AT_DISCHARGE):
        paid = await client.post(
            f"{url}/payments",
            json=payment(receivable["amount_due"], paid_at=AT_DISCHARGE),
            headers=hospital_headers,
        )
        assert paid.status_code == 201, paid.text
        answer = await client.post(
            f"{url}/instalments", json=_body("instalments", receivable), headers=hospital_headers
        )
    assert_problem(answer, 409, "receivable_paid", None)
    assert (await receivable_of(client, hospital_headers, receivable["settlement_id"]))[
        "instalments"
    ] == []


@pytest.mark.parametrize("route", ROUTES)
async def test_another_hospitals_receivable_is_not_found(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    route: str,
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}"
    with clock_at(AT_DISCHARGE if route == "instalments" else utcnow().isoformat()):
        answer = await client.post(
            f"{url}/{route}", json=_body(route, receivable), headers=other_hospital_headers
        )
    assert_problem(answer, 404, "receivable_not_found", None)
    assert_problem(
        await client.get(url, headers=other_hospital_headers), 404, "receivable_not_found", None
    )
    await assert_nothing_recorded(client, hospital_headers, receivable)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["fund", "auditor", "admin"])
async def test_a_key_that_is_not_a_hospitals_may_not_write(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
    route: str,
    role: str,
) -> None:
    scope = {
        "fund": {"region_prefix": "99", "fund_code": "F99-BASIC"},
        "auditor": {"region_prefix": "99"},
        "admin": {},
    }[role]
    headers = await make_key(role, **scope)
    _, receivable = await open_receivable(app, client, hospital_headers)
    answer = await client.post(
        f"/v1/receivables/{receivable['id']}/{route}",
        json=_body(route, receivable),
        headers=headers,
    )
    assert_problem(answer, 403, "forbidden", None)
    await assert_nothing_recorded(client, hospital_headers, receivable)


@pytest.mark.parametrize(
    "path",
    ["", "/overdue", "/indicators", "/defaulters", "/{id}"],
)
async def test_a_fund_key_reads_no_receivable(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    make_key: KeyFactory,
    path: str,
) -> None:
    fund = await make_key("fund", region_prefix="99", fund_code="F99-BASIC")
    settlement, receivable = await open_receivable(app, client, hospital_headers)
    params = {"": {"settlement_id": settlement["id"]}, "/indicators": {"year": 2024}}.get(path, {})
    url = "/v1/receivables" + path.replace("{id}", str(receivable["id"]))
    assert_problem(await client.get(url, params=params, headers=fund), 403, "forbidden", None)


async def test_a_replay_with_another_body_is_a_conflict_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}"
    first = await client.post(
        f"{url}/payments", json=payment("10.00", "P1"), headers=hospital_headers
    )
    assert first.status_code == 201, first.text
    for changed in (
        {"amount": "11.00"},
        {"method": "cash"},
        {"receipt_no": "R-X"},
        {"paid_at": "2024-03-21T10:00:00+08:00"},
    ):
        again = await client.post(
            f"{url}/payments", json=payment("10.00", "P1") | changed, headers=hospital_headers
        )
        assert_problem(again, 409, "payment_conflict", "his_payment_id")
    # the same HIS payment id on another receivable is the same payment: a conflict too
    _, other = await open_receivable(app, client, hospital_headers)
    elsewhere = await client.post(
        f"/v1/receivables/{other['id']}/payments",
        json=payment("10.00", "P1"),
        headers=hospital_headers,
    )
    assert_problem(elsewhere, 409, "payment_conflict", "his_payment_id")
    with clock_at(AT_DISCHARGE):
        plan = _body("instalments", receivable)
        assert (
            await client.post(f"{url}/instalments", json=plan, headers=hospital_headers)
        ).status_code == 201
        other_plan = _plan(("2024-05-30", receivable["amount_due"]))
        again = await client.post(f"{url}/instalments", json=other_plan, headers=hospital_headers)
    assert_problem(again, 409, "schedule_exists", None)
    after = await receivable_of(client, hospital_headers, receivable["settlement_id"])
    assert (after["paid"], [i["due_on"] for i in after["instalments"]]) == ("10.00", ["2024-04-30"])


@pytest.mark.parametrize(
    ("route", "body", "code", "field"),
    [
        ("payments", {"amount": "1.00"}, "missing", "his_payment_id"),
        (
            "payments",
            payment("1.00") | {"paid_at": "2024-03-20T10:00:00"},
            "timezone_aware",
            "paid_at",
        ),
        ("payments", payment("1.00") | {"tip": "1"}, "extra_forbidden", "tip"),
        (
            "reminders",
            {"channel": "pigeon", "sent_at": "2024-04-20T09:00:00+08:00"},
            "literal_error",
            "channel",
        ),
        ("defaulter", {"reason": ""}, "string_too_short", "reason"),
        ("instalments", {"instalments": []}, "too_short", "instalments"),
    ],
)
async def test_a_malformed_body_names_its_field(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    route: str,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    _, receivable = await open_receivable(app, client, hospital_headers)
    answer = await client.post(
        f"/v1/receivables/{receivable['id']}/{route}", json=body, headers=hospital_headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]][:1] == [(field, code)], (
        answer.json()
    )


@pytest.mark.parametrize(
    ("url", "code", "field"),
    [
        ("/v1/receivables?settlement_id=0", "greater_than_equal", "settlement_id"),
        ("/v1/receivables?settlement_id=1.0", "int_not_plain", "settlement_id"),
        ("/v1/receivables", "missing", "settlement_id"),
        ("/v1/receivables/indicators?year=2999", "less_than_equal", "year"),
        ("/v1/receivables/overdue?limit=0", "greater_than_equal", "limit"),
        (
            "/v1/receivables/overdue?hospital_code=h990102002",
            "code_not_upper_case",
            "hospital_code",
        ),
        ("/v1/receivables/defaulters?limit=+3", "int_not_plain", "limit"),
        ("/v1/receivables/0", "greater_than_equal", "receivable_id"),
        ("/v1/receivables/99999999999999999999", "less_than_equal", "receivable_id"),
    ],
)
async def test_a_malformed_query_or_path_names_it(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], url: str, code: str, field: str
) -> None:
    answer = await client.get(url, headers=hospital_headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]][:1] == [(field, code)], (
        answer.json()
    )


async def test_a_paid_share_is_no_ground_for_a_defaulter_mark(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # Paid in full, long after its grace period: the answer says it is paid, not that a
    # grace period is running (there is none: nothing is owed).
    _, receivable = await open_receivable(app, client, hospital_headers)
    url = f"/v1/receivables/{receivable['id']}"
    paid = await client.post(
        f"{url}/payments", json=payment(receivable["amount_due"]), headers=hospital_headers
    )
    assert paid.status_code == 201, paid.text
    marked = await client.post(
        f"{url}/defaulter", json={"reason": "拒不缴费"}, headers=hospital_headers
    )
    assert_problem(marked, 409, "receivable_paid", None)
    after = await receivable_of(client, hospital_headers, receivable["settlement_id"])
    assert after["defaulter"] is False
