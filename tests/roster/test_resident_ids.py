"""The roster's fast ID check gives the same verdict as service.identity, number for number."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.identity import InvalidResidentId, normalise_resident_id
from service.identity import check_character as reference_check_character
from service.roster import resident_ids
from service.roster.resident_ids import IdChecker, check_character
from tests import factories

TODAY = date(2026, 11, 27)


def _verdict(normalise: Callable[[str], str], raw: str) -> tuple[str, str]:
    try:
        return ("accepted", normalise(raw))
    except InvalidResidentId as exc:
        return ("refused", exc.detail)
    except ValueError:  # the reference trips over '²' (a digit to str.isdigit(), not to int())
        return ("refused", "an ID number is 17 digits and a check digit or X")


def _with_check(first17: str) -> str:
    return first17 + reference_check_character(first17)


birth_dates = st.one_of(
    st.dates(min_value=date(1895, 1, 1), max_value=date(2030, 12, 31)).map(lambda d: f"{d:%Y%m%d}"),
    st.from_regex(r"[0-9]{8}", fullmatch=True),  # 19600230, 00000000 …
)
first17s = st.builds(
    lambda region, born, seq: f"{region}{born}{seq:03d}",
    st.sampled_from(["110105", "500112", "830000", "990102", "000000", "960101"]),
    birth_dates,
    st.integers(min_value=0, max_value=999),
)
numbers = st.one_of(
    first17s.map(_with_check),  # valid check character
    st.builds(lambda f, c: f + c, first17s, st.sampled_from("0123456789Xx")),  # any
    st.text(alphabet="0123456789Xx _+-\u0661\u00b2", max_size=20),  # '١', '²': not ASCII
)


@settings(max_examples=3000)
@given(numbers)
@example(_with_check(f"110105{TODAY:%Y%m%d}001"))  # born today
@example(_with_check(f"110105{TODAY + timedelta(days=1):%Y%m%d}001"))  # born tomorrow
@example(_with_check("11010519000101001"))
@example(_with_check("11010518991231001"))
@example("110105600517001")  # the old 15-digit form
@example("11010519600517_01" + "1")  # int() would read the underscore
@example("1101051960051700\u00b22")
def test_the_fast_check_agrees_with_the_reference(raw: str) -> None:
    checker = IdChecker(today=TODAY)

    def reference(value: str) -> str:
        return normalise_resident_id(value, today=TODAY)

    assert _verdict(checker.normalise, raw) == _verdict(reference, raw)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_the_base_13_check_character_is_iso_7064_mod_11_2(first17: str) -> None:
    assert check_character(first17) == reference_check_character(first17)


def test_only_what_is_not_plainly_valid_goes_to_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def reference(raw: str, *, today: date) -> str:
        asked.append(raw)
        return raw.upper()

    monkeypatch.setattr(resident_ids, "normalise_resident_id", reference)
    checker = IdChecker(today=TODAY)
    valid = factories.resident_id(seq=1)
    ending_in_x = next(
        n for n in (factories.resident_id(seq=s) for s in range(1, 100)) if n.endswith("X")
    )
    assert checker.normalise(valid) == valid
    assert checker.normalise(ending_in_x) == ending_in_x
    assert checker.normalise(ending_in_x.lower()) == ending_in_x
    assert checker.normalise("110105600517001") == "110105600517001"
    assert asked == [ending_in_x.lower(), "110105600517001"]
