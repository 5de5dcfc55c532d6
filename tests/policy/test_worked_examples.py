"""Every worked example in /work/shared/domain/examples, to the fen, through shipped data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.policy import settle
from tests.policy.helpers import add, bill, fen, policy_for, visit


def test_e1_yubei_low_income_edge_secondary_hospital() -> None:
    policy = policy_for("500112", date(2023, 10, 30))
    result = settle(
        policy,
        visit=visit(level="secondary", on=date(2023, 10, 30)),
        categories=frozenset({"low_income_edge"}),
        bill=bill("50000.00", "2000.00"),
        year={},
    )
    assert result.layer("basic_insurance").amount_fen == fen("34790.00")
    assert result.layer("critical_illness").amount_fen == 0
    assert result.layer("medical_aid").amount_fen == fen("10647.00")
    assert result.layer("tilted_aid").amount_fen == fen("937.80")
    assert result.funds_total_fen == fen("46374.80")
    assert result.patient_pays_fen == fen("5625.20")
    assert result.patient_in_policy_fen == fen("3625.20")
    assert result.patient_out_of_policy_fen == fen("2000.00")
    assert result.actual_ratio == Decimal("0.8918")


def test_d2_yaan_supplementary_leaves_the_deductible_and_five_percent() -> None:
    policy = policy_for("511800", date(2018, 5, 1))
    result = settle(
        policy,
        visit=visit(on=date(2018, 5, 1)),
        categories=frozenset({"registered_poor"}),
        bill=bill("9000.00", "1000.00"),
        year={},
    )
    assert result.layer("basic_insurance").amount_fen == fen("7480.00")
    assert result.layer("critical_illness").amount_fen == 0
    assert result.layer("medical_aid").amount_fen == fen("924.00")
    assert result.layer("supplementary").amount_fen == fen("1346.00")
    assert result.patient_pays_fen == fen("250.00")
    assert result.patient_in_policy_fen == fen("200.00")
    assert result.patient_out_of_policy_fen == fen("50.00")


HUBEI = date(2018, 6, 1)


def _hubei_critical(eligible: str, year: dict[str, int]) -> tuple[int, dict[str, int]]:
    result = settle(
        policy_for("420000", HUBEI),
        visit=visit(on=HUBEI),
        categories=frozenset({"registered_poor"}),
        bill=bill(eligible),
        year=year,
        given={"basic_insurance": 0},
    )
    return result.layer("critical_illness").amount_fen, dict(result.deltas)


@pytest.mark.parametrize(
    ("eligible", "expected"), [("50000.00", "29000.00"), ("150000.00", "104000.00")]
)
def test_d1_hubei_cumulative_bands(eligible: str, expected: str) -> None:
    assert _hubei_critical(eligible, {})[0] == fen(expected)


def test_d1_second_admission_continues_on_the_bands() -> None:
    first, deltas = _hubei_critical("20000.00", {})
    second, _ = _hubei_critical("30000.00", add({}, deltas))
    assert (first, second) == (fen("9000.00"), fen("20000.00"))


ANHUI = date(2018, 6, 1)


def _anhui(tier: str, burden: str, year: dict[str, int]) -> tuple[int, int, dict[str, int]]:
    result = settle(
        policy_for("340000", ANHUI),
        visit=visit(tier=tier, on=ANHUI),
        categories=frozenset({"registered_poor"}),
        bill=bill(burden),
        year=year,
        given={"basic_insurance": 0, "critical_illness": 0, "medical_aid": 0},
    )
    return result.layer("safety_net").amount_fen, result.patient_pays_fen, dict(result.deltas)


@pytest.mark.parametrize(
    ("tier", "safety_net", "patient"),
    [
        ("county", "5200.00", "3000.00"),
        ("city", "3200.00", "5000.00"),
        ("province", "0.00", "8200.00"),
    ],
)
def test_d5_anhui_351_caps_the_year_by_hospital_tier(
    tier: str, safety_net: str, patient: str
) -> None:
    paid, pays, _ = _anhui(tier, "8200.00", {})
    assert (paid, pays) == (fen(safety_net), fen(patient))


def test_d5_second_admission_after_the_cap_is_reached_costs_nothing() -> None:
    _, pays, deltas = _anhui("county", "3000.00", {})
    assert pays == fen("3000.00")
    paid, pays, _ = _anhui("county", "1500.00", add({}, deltas))
    assert (paid, pays) == (fen("1500.00"), 0)


def test_e3_jiangyin_medical_aid_after_given_insurance_amounts() -> None:
    result = settle(
        policy_for("320281", date(2020, 8, 1)),
        visit=visit(on=date(2020, 8, 1)),
        categories=frozenset({"medical_aid_recipient"}),
        bill=bill("135000.00", "15000.00"),
        year={},
        given={"basic_insurance": fen("68828.00"), "critical_illness": fen("37161.80")},
    )
    assert result.layer("medical_aid").amount_fen == fen("20307.14")
    assert result.funds_total_fen == fen("126296.94")
    assert result.patient_pays_fen == fen("23703.06")
    assert not result.layer("low_income_top_up").applied


def test_e3_low_income_top_up_is_not_triggered_under_ten_percent() -> None:
    result = settle(
        policy_for("320281", date(2020, 8, 1)),
        visit=visit(on=date(2020, 8, 1)),
        categories=frozenset({"minimum_living"}),
        bill=bill("135000.00", "15000.00"),
        year={},
        given={"basic_insurance": fen("68828.00"), "critical_illness": fen("37161.80")},
    )
    assert result.layer("low_income_top_up").applied
    assert result.layer("low_income_top_up").amount_fen == 0
    assert result.patient_in_policy_fen == fen("8703.06")


def test_e5_general_population_cumulative_bands() -> None:
    result = settle(
        policy_for("990201", date(2024, 3, 4)),
        visit=visit(on=date(2024, 3, 4)),
        categories=frozenset(),
        bill=bill("150000.00"),
        year={},
        given={"basic_insurance": 0},
    )
    assert result.layer("critical_illness").amount_fen == fen("93800.00")


def test_e1_trace_explains_every_layer_in_both_languages() -> None:
    result = settle(
        policy_for("500112", date(2023, 10, 30)),
        visit=visit(level="secondary", on=date(2023, 10, 30)),
        categories=frozenset({"low_income_edge"}),
        bill=bill("50000.00", "2000.00"),
        year={},
        trace=True,
    )
    steps = {line.step: line for line in result.trace}
    assert "(50000.00 − 起付 300.00) × 0.70 = 34790.00" in steps["basic_insurance"].zh
    assert "(4563.00 − deductible 3000.00) × 0.60 = 937.80" in steps["tilted_aid"].en
    assert "5625.20" in steps["total"].en
