from datetime import date

import pytest

from service.identity import (
    IdHasher,
    InvalidResidentId,
    check_character,
    mask_resident_id,
    normalise_resident_id,
)
from tests.factories import resident_id


def test_a_published_example_number_validates() -> None:
    # GB 11643-1999 appendix example.
    assert normalise_resident_id("11010519491231002X") == "11010519491231002X"


def test_lower_case_x_is_accepted_and_upper_cased() -> None:
    assert normalise_resident_id(" 11010519491231002x ") == "11010519491231002X"


def test_a_wrong_check_digit_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidResidentId) as exc:
        normalise_resident_id("110105194912310021")
    assert "check digit" in exc.value.detail
    assert exc.value.errors[0].field == "id_number"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1101051949123100", "18 characters"),
        ("11010519491331002X", "date of birth"),
        ("99010519491231002X", "province"),
        ("1101051949123100AX", "17 digits"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(raw: str, reason: str) -> None:
    with pytest.raises(InvalidResidentId) as exc:
        normalise_resident_id(raw)
    assert reason in exc.value.detail


def test_a_birth_date_in_the_future_is_refused() -> None:
    number = resident_id(born=date(2031, 1, 1))
    with pytest.raises(InvalidResidentId):
        normalise_resident_id(number, today=date(2026, 11, 23))


def test_the_old_15_digit_form_converts_to_18() -> None:
    old = "110105491231002"
    new = normalise_resident_id(old)
    assert new[:17] == "11010519491231002"
    assert new[17] == check_character(new[:17])


def test_masking_keeps_region_and_last_four() -> None:
    assert mask_resident_id("11010519491231002X") == "110105********002X"


def test_the_stored_key_is_keyed_and_not_the_number() -> None:
    number = resident_id()
    a = IdHasher(b"key-one").resident(number)
    b = IdHasher(b"key-two").resident(number)
    assert a.person_key != b.person_key
    assert number not in a.person_key
    assert len(a.person_key) == 64
    assert a.masked.count("*") == 8


def test_full_width_digits_from_a_chinese_input_method_are_the_same_number() -> None:
    full_width = "１１０１０５１９４９１２３１００２ｘ"
    assert normalise_resident_id(full_width) == "11010519491231002X"
    hasher = IdHasher(b"key")
    assert (
        hasher.resident(full_width).person_key == hasher.resident("11010519491231002X").person_key
    )


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100²X",  # a superscript two: a digit to str.isdigit()
        "11010519491231002\u0663",  # an Arabic-Indic three
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits throughout
        "11010549123100²",  # the old 15-digit form
    ],
)
def test_other_unicode_digits_are_refused_not_crashed_on(raw: str) -> None:
    with pytest.raises(InvalidResidentId) as exc:
        normalise_resident_id(raw)
    assert "digits" in exc.value.detail


def test_the_stored_key_is_hmac_sha256_of_the_normalised_number() -> None:
    import hashlib
    import hmac

    hasher = IdHasher(b"server-secret")
    for number in ("11010519491231002X", resident_id()):
        expected = hmac.new(b"server-secret", number.encode(), hashlib.sha256).hexdigest()
        assert hasher.key_of(number) == expected
