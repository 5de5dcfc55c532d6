"""One amount type at the API edge: ASCII digits only, at most two decimals, a plausible size;
one conversion from yuan to fen (service/money.py, ADR 0010)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError

from service.money import MAX_AMOUNT_YUAN, MAX_TOTAL_YUAN, Amount, TotalAmount, yuan_to_fen
from tests import factories
from tests.factories import admission_request, bill, settlement_request

AMOUNT = TypeAdapter(Amount)
TOTAL = TypeAdapter(TotalAmount)

FOREIGN_DIGITS = ["١٠٠.00", "１００.00", "۱۰۰", "१००.००", "100.0٠"]


@pytest.mark.parametrize("text", FOREIGN_DIGITS)
def test_an_amount_in_another_scripts_digits_is_refused(text: str) -> None:
    assert Decimal(text) == Decimal(100)  # what the refusal protects against
    with pytest.raises(ValidationError) as caught:
        AMOUNT.validate_python(text)
    assert caught.value.errors()[0]["type"] == "amount_not_ascii"


@pytest.mark.parametrize(
    ("text", "fen"), [("0", 0), ("0.01", 1), ("100.1", 100_10), ("52000.00", 52000_00)]
)
def test_an_amount_in_ascii_digits_converts_to_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(AMOUNT.validate_python(text)) == fen


def test_the_plausible_maximum_is_accepted_and_one_fen_more_is_not() -> None:
    assert yuan_to_fen(AMOUNT.validate_python(str(MAX_AMOUNT_YUAN))) == 10_000_000_00
    with pytest.raises(ValidationError) as caught:
        AMOUNT.validate_python("10000000.01")
    error = caught.value.errors()[0]
    assert error["type"] == "amount_implausible"
    assert "plausible maximum of 10000000.00 yuan" in error["msg"]


@pytest.mark.parametrize("sign", ["", "-"])
def test_a_total_is_signed_and_bounded_either_way(sign: str) -> None:
    bound = f"{sign}{MAX_TOTAL_YUAN}"
    assert yuan_to_fen(TOTAL.validate_python(bound)) == int(f"{sign}10000000000000")
    with pytest.raises(ValidationError) as caught:
        TOTAL.validate_python(f"{sign}100000000000.01")
    assert caught.value.errors()[0]["type"] == "amount_implausible"


@pytest.mark.parametrize("text", [*FOREIGN_DIGITS, "1.001", "NaN", "-Infinity"])
def test_a_total_takes_only_what_an_amount_takes(text: str) -> None:
    with pytest.raises(ValidationError):
        TOTAL.validate_python(text)


def test_the_conversion_refuses_a_third_decimal() -> None:
    with pytest.raises(ValueError, match="more than two decimals"):
        yuan_to_fen(Decimal("1.005"))


@pytest.fixture
async def visit_id(app: FastAPI) -> str:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    return str(row.visit_id)


def _problem(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    return error["field"], error["code"]


async def test_an_absurd_bill_is_refused_with_the_reason(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    payload = settlement_request(visit_id, bill=bill("999999999999.99"))
    response = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
    assert _problem(response) == ("bill.total", "amount_implausible")
    assert "plausible maximum" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("text", FOREIGN_DIGITS[:2])
async def test_a_bill_in_foreign_digits_is_refused_naming_the_field(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str, text: str
) -> None:
    payload = settlement_request(
        visit_id, bill={"total": text, "in_policy": "100.00", "out_of_policy": "0"}
    )
    response = await client.post("/v1/settlements", json=payload, headers=hospital_headers)
    assert _problem(response) == ("bill.total", "amount_not_ascii")


async def test_a_deposit_in_foreign_digits_is_refused_at_admission(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    payload = admission_request(deposit_intended="١٠٠.00")
    response = await client.post("/v1/admissions", json=payload, headers=hospital_headers)
    assert _problem(response) == ("deposit_intended", "amount_not_ascii")


async def test_a_reported_deposit_in_foreign_digits_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    payload: dict[str, Any] = {
        "receipt_no": "R1",
        "amount": "１００.00",
        "taken_at": "2024-03-01T09:00:00+08:00",
    }
    response = await client.post(
        f"/v1/admissions/{visit_id}/deposits", json=payload, headers=hospital_headers
    )
    assert _problem(response) == ("amount", "amount_not_ascii")


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("BillCreate", "total"),
        ("BillLineCreate", "amount"),
        ("AdmissionCreate", "deposit_intended"),
        ("DepositCreate", "amount"),
    ],
)
async def test_the_bound_is_in_the_openapi_document(
    client: httpx.AsyncClient, schema: str, field: str
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas[schema]["properties"][field]["maximum"] == 10_000_000


async def test_the_bound_is_explained_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "plausible" in schemas["BillLineCreate"]["properties"]["amount"]["description"]


def test_yuan_become_fen_only_through_the_money_module() -> None:
    import re
    from pathlib import Path

    import service

    root = Path(service.__file__).parent
    ad_hoc = re.compile(
        r"int\([^()]*\*\s*100\)"  # int(x * 100)
        r"|def \w*to_fen\("  # a second conversion
        r"|from service\.policy(\.money)? import[^\n]*yuan_to_fen"  # around service.money
    )
    found = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not path.is_relative_to(root / "policy") and ad_hoc.search(path.read_text("utf-8"))
    }
    assert found == {"money.py"}


NOT_PLAIN = ["1.2E4", "1e2", " 1_0000.00", "1_000.00", "+2000", "2000\n", "\t5", " 5.00", ".5",
             "5.", "0e5", "", "1,000.00", "NaN", "Infinity"]  # fmt: skip


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_an_amount_is_written_as_plain_decimals(text: str) -> None:
    # Decimal() reads most of these (1.2E4 as 12000); a bill shows none of them.
    for adapter in (AMOUNT, TOTAL):
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python(text)
        assert caught.value.errors()[0]["type"] in {"amount_not_plain", "decimal_parsing"}


@pytest.mark.parametrize("text", ["0", "7", "0.5", "100.1", "52000.00", "007.10"])
def test_plain_decimals_and_json_numbers_still_read(text: str) -> None:
    assert AMOUNT.validate_python(text) == Decimal(text)
    assert AMOUNT.validate_python(1e4) == Decimal(10000)  # a JSON number, as documented
    assert TOTAL.validate_python(text) == Decimal(text)


@pytest.mark.parametrize("text", ["7", "0.5", "0.01", "100.1", "52000.00", "007.10"])
def test_a_total_reads_a_minus_before_an_amount(text: str) -> None:
    assert TOTAL.validate_python(f"-{text}") == -Decimal(text)


NEGATIVE_ZEROS = ["-0", "-0.0", "-0.00", "-00.00", json.loads("-0.00"), json.loads("-0.0"), -0.0]


@pytest.mark.parametrize("value", NEGATIVE_ZEROS)
def test_a_negative_zero_is_not_a_plain_amount(value: Any) -> None:
    # Read as zero (-0 == 0 passes `ge=0`), "-0.00" is printf's rendering of a float a little
    # below zero: a HIS keeping money in floats, or a sign put on a nothing.
    assert Decimal(value) == 0
    for adapter in (AMOUNT, TOTAL):
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python(value)
        assert caught.value.errors()[0]["type"] == "amount_not_plain"
        assert "negative zero" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("sent", ['"-0.00"', "-0.00"])
async def test_a_bill_with_a_negative_zero_is_refused_naming_the_field(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str, sent: str
) -> None:
    payload = settlement_request(visit_id, bill=bill("100.00"))
    raw = json.dumps(payload).replace('"out_of_policy": "0.00"', f'"out_of_policy": {sent}')
    assert sent in raw
    response = await client.post(
        "/v1/settlements",
        content=raw,
        headers={**hospital_headers, "content-type": "application/json"},
    )
    assert _problem(response) == ("bill.out_of_policy", "amount_not_plain")
    zh = await client.post(
        "/v1/settlements",
        content=raw,
        headers={**hospital_headers, "content-type": "application/json", "accept-language": "zh"},
    )
    assert zh.json()["errors"][0]["message"].endswith("零不得带负号")


async def test_a_bill_in_exponent_form_is_refused_not_settled(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    bill_sent = {"total": "1.2E4", "in_policy": " 1_0000.00", "out_of_policy": "+2000\n"}
    response = await client.post(
        "/v1/settlements",
        json=settlement_request(visit_id, bill=bill_sent),
        headers=hospital_headers,
    )
    assert response.status_code == 422, response.text
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("bill.total", "amount_not_plain"),
        ("bill.in_policy", "amount_not_plain"),
        ("bill.out_of_policy", "amount_not_plain"),
    }
    listed = await client.get(
        "/v1/settlements", params={"visit_id": visit_id}, headers=hospital_headers
    )
    assert listed.json() == []
