"""A row id past what a BIGINT holds, in a route whose path takes any integer: no such row
(404), never a 500 from the driver's overflow."""

from __future__ import annotations

import httpx
import pytest

from service.base import row_id

PAST_BIGINT = ["9223372036854775808", "99999999999999999999"]


@pytest.mark.parametrize("row_id", PAST_BIGINT)
async def test_a_violation_id_past_bigint_is_not_found(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], row_id: str
) -> None:
    read = await client.get(f"/v1/violations/{row_id}", headers=auditor_headers)
    moved = await client.post(
        f"/v1/violations/{row_id}/transitions",
        json={"to_status": "rectifying", "note": "整改中"},
        headers=auditor_headers,
    )
    assert [(r.status_code, r.json()["code"]) for r in (read, moved)] == [
        (404, "violation_not_found"),
        (404, "violation_not_found"),
    ]


@pytest.mark.parametrize("row_id", PAST_BIGINT)
async def test_revoking_a_key_id_past_bigint_is_not_found(
    client: httpx.AsyncClient, admin_headers: dict[str, str], row_id: str
) -> None:
    response = await client.post(f"/v1/keys/{row_id}/revoke", headers=admin_headers)
    assert (response.status_code, response.json()["code"]) == (404, "api_key_not_found")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("9223372036854775807", 2**63 - 1),
        ("0", None),
        ("9223372036854775808", None),
        ("²", None),  # a digit to isdigit(), refused by int()
        ("１", None),  # full-width: int() reads it, no id we answered was written so
        ("١", None),  # Arabic-Indic
        ("-1", None),
        (" 1", None),
        ("", None),
    ],
)
def test_a_row_id_is_a_positive_bigint_in_ascii_digits(text: str, expected: int | None) -> None:
    assert row_id(text) == expected
