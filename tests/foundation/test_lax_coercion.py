"""A request body's yes/no is JSON true or false and its numbers are not booleans: pydantic's lax
mode would read `"no"` as false and `true` as 1, and settle or register a guess. Forms and
sheets keep their own words for yes and no (the console's checkbox, a sheet's 是/否)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from service.money import Amount, TotalAmount
from service.nhsa.inputs import Data3201, Exp2401
from service.schemas import Flag, Whole
from tests import factories as f

FLAG, WHOLE = TypeAdapter(Flag), TypeAdapter(Whole)
AMOUNT, TOTAL = TypeAdapter(Amount), TypeAdapter(TotalAmount)


@pytest.mark.parametrize("value", ["no", "yes", "on", "off", "true", "1", 1, 0, 1.0, None])
def test_a_flag_takes_only_true_or_false(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        FLAG.validate_python(value)
    assert caught.value.errors()[0]["type"] == "bool_type"
    assert FLAG.validate_python(True) is True
    assert FLAG.validate_json("false") is False


@pytest.mark.parametrize(
    ("adapter", "good"), [(WHOLE, 2024), (AMOUNT, "52000.00"), (TOTAL, "-20.50")]
)
@pytest.mark.parametrize("value", [True, False])
def test_a_number_is_not_a_boolean(adapter: TypeAdapter[Any], good: Any, value: bool) -> None:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    assert caught.value.errors()[0]["type"] == "bool_not_number"
    assert adapter.validate_python(good) == adapter.validate_python(str(good))


def test_whole_numbers_still_come_as_text_from_forms() -> None:
    assert WHOLE.validate_python("2024") == 2024  # the console's year-end form sends text


def test_the_nhsa_extensions_take_the_same_types() -> None:
    with pytest.raises(ValidationError) as caught:
        Exp2401.model_validate({"referred": "1"})
    assert caught.value.errors()[0]["type"] == "bool_type"
    totals = {
        "insutype": "390",
        "clr_type": "21",
        "setl_optins": "990102",
        "stmt_begndate": "2024-03-01",
        "stmt_enddate": "2024-03-31",
        "medfee_sumamt": "0",
        "fund_pay_sumamt": "0",
        "acct_pay": "0",
    }
    with pytest.raises(ValidationError) as caught:
        Data3201.model_validate(totals | {"fixmedins_setl_cnt": True})
    assert caught.value.errors()[0]["loc"] == ("fixmedins_setl_cnt",)
    assert Data3201.model_validate(totals | {"fixmedins_setl_cnt": 3}).fixmedins_setl_cnt == 3


def _settlement(**bill: Any) -> dict[str, Any]:
    return f.settlement_request("V-0001", bill=f.bill("100.00") | bill)


def _preview(**change: Any) -> dict[str, Any]:
    body = f.settlement_request("V-0001") | change
    del body["his_settlement_id"]  # a preview is not recorded
    return body


LINE = {"item": "drug", "amount": "100.00", "in_policy": True}

HOSPITAL_CASES = [
    ({"designated": "no"}, "designated", "bool_type"),
    ({"designated": 1}, "designated", "bool_type"),
    ({"designated": "true"}, "designated", "bool_type"),
]
HIS_CASES = [
    (
        "/v1/settlements",
        _settlement(lines=[LINE | {"in_policy": "yes"}]),
        "bill.lines.0.in_policy",
        "bool_type",
    ),
    (
        "/v1/settlements",
        _settlement(total=True),
        "bill.total",
        "bool_not_number",
    ),
    (
        "/v1/settlements/preview",
        _preview(mid_settlement=0),
        "mid_settlement",
        "bool_type",
    ),
    (
        "/v1/settlements",
        f.settlement_request("V-0001") | {"external_amounts": {"basic_insurance": True}},
        "external_amounts.basic_insurance",
        "bool_not_number",
    ),
    (
        "/v1/admissions",
        f.admission_request(referral={"referred": "on"}),
        "referral.referred",
        "bool_type",
    ),
    (
        "/v1/admissions",
        f.admission_request(deposit_intended=True),
        "deposit_intended",
        "bool_not_number",
    ),
    (
        "/v1/admissions/V-0001/deposits",
        {"receipt_no": "R-1", "amount": True, "taken_at": "2026-03-10T09:00:00+08:00"},
        "amount",
        "bool_not_number",
    ),
]
AUDITOR_CASES = [
    (
        "/v1/year-end/runs",
        {"region_code": f.COUNTY, "plan_year": 2024, "dry_run": "true"},
        "dry_run",
        "bool_type",
    ),
    (
        "/v1/year-end/runs",
        {"region_code": f.COUNTY, "plan_year": True, "dry_run": True},
        "plan_year",
        "bool_not_number",
    ),
    (
        "/v1/policies/whatif",
        {"source_text": "x", "over": 2024, "top": True},
        "top",
        "bool_not_number",
    ),
]


def _refused(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    [error] = response.json()["errors"]
    return error["field"], error["code"]


@pytest.mark.parametrize(("change", "field", "code"), HOSPITAL_CASES)
async def test_a_hospital_s_designation_is_true_or_false(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    url = "/v1/hospitals/H990102077"
    body = f.hospital_body(county_code=f.COUNTY) | change
    assert _refused(await client.put(url, json=body, headers=admin_headers)) == (field, code)
    assert (await client.get(url, headers=admin_headers)).status_code == 404
    made = await client.put(url, json=body | {"designated": False}, headers=admin_headers)
    assert made.status_code == 201, made.text
    assert made.json()["designated"] is False


@pytest.mark.parametrize(("url", "body", "field", "code"), HIS_CASES)
async def test_a_his_body_s_flags_and_amounts_are_not_guessed(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    url: str,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    assert _refused(await client.post(url, json=body, headers=hospital_headers)) == (field, code)


@pytest.mark.parametrize(("url", "body", "field", "code"), AUDITOR_CASES)
async def test_an_auditor_s_flags_and_numbers_are_not_guessed(
    client: httpx.AsyncClient,
    auditor_headers: dict[str, str],
    url: str,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    assert _refused(await client.post(url, json=body, headers=auditor_headers)) == (field, code)
