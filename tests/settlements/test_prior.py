"""Counting the earlier admissions of a plan year from the other active settlements
(service/settlements/prior.py): once per admission, by hospital, calendar quarter and month."""

from __future__ import annotations

from datetime import date

from service.policy import PriorAdmissions
from service.settlements.prior import OtherStay, prior_of
from tests.factories import at

OTHERS = [
    OtherStay(1, "H-A", 2024, at(2024, 1, 20), {"chronic.paid": 100_00}),
    OtherStay(2, "H-A", 2024, at(2024, 2, 10), {"chronic.paid": 50_00}),
    OtherStay(2, "H-A", 2024, at(2024, 3, 5), {"chronic.paid": 30_00}),  # a second stage
    OtherStay(3, "H-B", 2024, at(2024, 4, 2), {"chronic.paid": 70_00}),
    OtherStay(4, "H-A", 2023, at(2023, 12, 30), {"chronic.paid": 999_00}),  # another year
]


def test_each_admission_counts_once_by_hospital_quarter_and_month() -> None:
    found = prior_of(
        OTHERS,
        year=2024,
        hospital_code="H-A",
        discharged_on=date(2024, 3, 28),
        monthly={"chronic.paid"},
    )
    assert found == PriorAdmissions(3, 2, 2, {"chronic.paid": 30_00})
    april = prior_of(
        OTHERS, year=2024, hospital_code="H-B", discharged_on=date(2024, 4, 30), monthly=set()
    )
    assert april == PriorAdmissions(3, 1, 1, {})


def test_no_other_admission_is_the_first() -> None:
    assert (
        prior_of([], year=2024, hospital_code="H-A", discharged_on=date(2024, 1, 1), monthly=set())
        == PriorAdmissions()
    )
    assert (
        prior_of(
            OTHERS[-1:],
            year=2024,
            hospital_code="H-A",
            discharged_on=date(2024, 1, 1),
            monthly=set(),
        )
        == PriorAdmissions()
    )
