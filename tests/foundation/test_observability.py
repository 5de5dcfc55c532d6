"""The log lines' redaction and the access line: what they write, not how fast."""

from __future__ import annotations

import io
import json
import logging

import httpx
from hypothesis import given
from hypothesis import strategies as st

from service.observability import _ID_LIKE, JsonFormatter, access_log, redact
from tests import factories


def _masked_by_the_pattern(text: str) -> str:
    return _ID_LIKE.sub(lambda m: m.group(1) + "********" + m.group(2)[-4:], text)


# Runs of digits around the lengths that matter (15 to 18), between bits of other text.
_LINES = st.lists(
    st.one_of(
        st.text(alphabet="0123456789", min_size=14, max_size=19),
        st.text(alphabet="Xx٣ /-a", max_size=3),
    ),
    max_size=5,
).map("".join)


@given(_LINES)
def test_redact_masks_exactly_what_the_pattern_masks(text: str) -> None:
    assert redact(text) == _masked_by_the_pattern(text)


def test_redact_masks_a_number_in_a_line_and_leaves_a_line_without_one() -> None:
    number = factories.resident_id(seq=7)
    assert redact(f"looked up {number}.") == f"looked up {number[:6]}********{number[-4:]}."
    line = "GET /v1/persons/{id_number}/status 200"
    assert redact(line) == line


async def test_the_access_line_of_a_status_check(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    stream = io.StringIO()
    written = logging.StreamHandler(stream)
    written.setFormatter(JsonFormatter())
    access_log.addHandler(written)
    old_level = access_log.level
    access_log.setLevel(logging.INFO)
    number = factories.resident_id(seq=8)
    try:
        response = await client.get(
            f"/v1/persons/{number}x/status",
            headers={**hospital_headers, "X-Request-ID": "req-0123456789"},
        )
    finally:
        access_log.removeHandler(written)
        access_log.setLevel(old_level)
    assert response.status_code == 422
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert set(line) == {"ts", "level", "logger", "msg", "request_id", "status", "ms"}
    assert line["msg"] == "GET /v1/persons/{id_number}/status 422"
    assert (line["level"], line["logger"]) == ("INFO", "settlecheck.access")
    assert (line["request_id"], line["status"]) == ("req-0123456789", 422)
    assert isinstance(line["ms"], float)
    assert number not in stream.getvalue()


def _request_ids_carrying(number: str) -> list[str]:
    """A resident ID number as a caller's request id could carry it: each passes the id's own
    shape (8 to 64 of letters, digits, `.`, `_`, `-`)."""
    return [
        f"{number}a",  # a letter next to it
        f"{number[:6]}.{number[6:14]}.{number[14:]}",  # parted by the id's separators
        f"{number[:6]}-{number[6:14]}-{number[14:]}",
        f"req_{number[:17]}_1",  # the 17 digits that fix the check character
        f"req_{number[:6]}{number[8:17]}_1",  # the old 15-digit form of the same number
    ]


async def test_a_request_id_carrying_a_resident_id_is_replaced_in_the_log_and_the_answer(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    number = factories.resident_id(seq=9)
    stream = io.StringIO()
    written = logging.StreamHandler(stream)
    written.setFormatter(JsonFormatter())
    access_log.addHandler(written)
    old_level = access_log.level
    access_log.setLevel(logging.INFO)
    sent = _request_ids_carrying(number)
    try:
        echoed = [
            (
                await client.get(
                    "/v1/violations", headers={**hospital_headers, "X-Request-ID": rid}
                )
            ).headers["x-request-id"]
            for rid in sent
        ]
    finally:
        access_log.removeHandler(written)
        access_log.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == len(sent)
    for rid, answered, line in zip(sent, echoed, lines, strict=True):
        assert answered != rid
        assert line["request_id"] == answered
    digits = "".join(ch for ch in stream.getvalue() if ch.isdigit() or ch == "\n")
    assert number[:17] not in digits
    assert number[:6] + number[8:17] not in digits


async def test_a_request_id_of_digits_that_are_no_resident_id_is_kept(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    # A trace id made of a timestamp and a counter: 20 digits, but no valid ID number in them.
    rid = "20261130081500000001"
    response = await client.get("/v1/violations", headers={**hospital_headers, "X-Request-ID": rid})
    assert response.headers["x-request-id"] == rid
