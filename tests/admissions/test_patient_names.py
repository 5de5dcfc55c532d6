"""A patient's name is one line of text: a control character or a line break in it is refused
naming the field (a NUL was admitted and masked as one more character)."""

from __future__ import annotations

import httpx
import pytest

from tests import factories


@pytest.mark.parametrize(
    "name", ["王\x00明", "王\n明", "王\t明", "\x1b[31m王", "王\u202e明", "王\u200b明"]
)
async def test_a_name_with_a_control_character_or_line_break_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], name: str
) -> None:
    answer = await client.post(
        "/v1/admissions", json=factories.admission_request(name=name), headers=hospital_headers
    )

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("name", "not_one_line")]


async def test_a_blank_name_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    answer = await client.post(
        "/v1/admissions", json=factories.admission_request(name="  "), headers=hospital_headers
    )

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("name", "blank")]
