"""A roster row becomes an entry: cells by header position, whatever the row's length."""

from __future__ import annotations

from datetime import date

import pytest

from service.identity import IdHasher
from service.roster.rows import RowParser, RowRejected, header_index
from tests import factories

A = factories.resident_id(seq=901)
HASHER = IdHasher(b"test-secret-key-0123456789")


def test_short_rows_and_columns_the_header_lacks_read_as_empty() -> None:
    parse = RowParser(header_index(["类别", "身份证号", "参保地", "起始日期", "终止日期"]), HASHER)
    entry = parse(["destitute", A, "990102", "2016-01-01"], 2)  # no 终止日期 cell
    assert entry == (
        HASHER.key_of(A),
        A[:6] + "********" + A[-4:],
        "990102",
        "destitute",
        date(2016, 1, 1),
        None,
        False,
        None,
        None,
        2,
    )


def test_cells_beyond_the_header_are_ignored() -> None:
    parse = RowParser(
        header_index(["id_number", "insured_county", "category", "valid_from"]), HASHER
    )
    entry = parse([A, "990102", "destitute", "2016-01-01", "yes", "2030-01-01"], 3)
    assert (entry[6], entry[7], entry[8]) == (False, None, None)


def test_a_row_without_its_required_cells_is_rejected_with_the_masked_number() -> None:
    parse = RowParser(
        header_index(["id_number", "insured_county", "category", "valid_from"]), HASHER
    )
    with pytest.raises(RowRejected) as caught:
        parse([A, "990102", "destitute"], 4)
    assert (caught.value.field, caught.value.reason) == ("valid_from", "is required")
    assert caught.value.masked == A[:6] + "********" + A[-4:]


def test_a_float_cell_is_rejected_under_its_own_column() -> None:
    parse = RowParser(
        header_index(["id_number", "insured_county", "category", "valid_from"]), HASHER
    )
    with pytest.raises(RowRejected) as caught:
        parse([A, 990102.0, "destitute", "2016-01-01"], 5)  # an XLSX number cell
    assert caught.value.field == "insured_county"


def test_a_county_code_of_non_ascii_digits_is_rejected() -> None:
    parse = RowParser(
        header_index(["id_number", "insured_county", "category", "valid_from"]), HASHER
    )
    with pytest.raises(RowRejected) as caught:
        parse([A, "٩٩٠١٠٢", "destitute", "2016-01-01"], 6)
    assert caught.value.field == "insured_county"
