"""A row id in the path, an integer in a body and an id a body names as text are written
plainly, as a query's integer is (tests/foundation/test_query_integers.py): `03` was read as
row 3, so a client's formatting bug reached another row than it showed."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from service.base import row_id
from service.schemas import Whole

NOT_PLAIN = ["03", "+3", "3.0", " 3", "3_0", "-3", "００３"]


def test_every_integer_in_a_path_refuses_what_is_not_plain_digits(app: FastAPI) -> None:
    checked = []
    for route in app.router.routes:
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.path_params:
            if param.field_info.annotation is not int:
                continue
            checked.append(f"{route.path} {param.alias}")
            for sent in NOT_PLAIN:
                _, errors = param.validate(sent, {}, loc=("path", param.alias))
                assert [e["type"] for e in errors] == ["int_not_plain"], (route.path, sent)
    assert {c.split()[-1] for c in checked} >= {
        "settlement_id",
        "violation_id",
        "key_id",
        "receivable_id",
        "statement_id",
    }


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/v1/settlements/03", "settlement_id"),
        ("/v1/violations/01", "violation_id"),
        ("/v1/receivables/007", "receivable_id"),
    ],
)
async def test_a_row_id_with_a_leading_zero_is_a_422_naming_it(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], url: str, named: str
) -> None:
    answer = await client.get(url, headers=hospital_headers)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["code"] == "int_not_plain"
    assert error["field"] == named


@pytest.mark.parametrize("sent", [*NOT_PLAIN[:5], "-03", "-0", "- 3"])
def test_a_body_integer_sent_as_text_is_written_plainly(sent: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Whole).validate_python(sent)
    assert [e["type"] for e in refused.value.errors()] == ["int_not_plain"]
    assert TypeAdapter(Whole).validate_python("2024") == 2024
    assert TypeAdapter(Whole).validate_python(0) == 0
    assert TypeAdapter(Whole).validate_python("-1") == -1  # NHSA 3201's count may be negative


@pytest.mark.parametrize("text", ["03", "0", "007"])
def test_an_id_named_as_text_with_a_leading_zero_is_no_row(text: str) -> None:
    assert row_id(text) is None
    assert row_id(text.lstrip("0") or "1") is not None
