"""Properties of the engine over the shipped policies, for any bill and any year."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy import Bill, CompiledPolicy, SettlementResult, Visit, reverse_deltas, settle
from tests.policy.helpers import add, policy_for

pytestmark = pytest.mark.slow

POLICIES = {
    "990102": date(2024, 6, 1),  # demo county: 5 layers
    "500112": date(2023, 6, 1),  # Yubei
    "511800": date(2018, 6, 1),  # Ya'an
    "450000": date(2020, 6, 1),  # Guangxi
}
CATEGORIES = [
    "registered_poor",
    "lifted_out",
    "minimum_living",
    "destitute",
    "monitored_edge",
    "low_income_edge",
    "medical_aid_recipient",
]

amounts = st.integers(min_value=0, max_value=80_000_000)  # up to 800,000.00 yuan
regions = st.sampled_from(sorted(POLICIES))
categories = st.frozensets(st.sampled_from(CATEGORIES), max_size=3)
visits = st.builds(
    Visit,
    visit_type=st.sampled_from(["inpatient", "chronic_outpatient"]),
    hospital_level=st.sampled_from(["primary", "secondary", "tertiary"]),
    hospital_tier=st.sampled_from(["township", "county", "city", "province"]),
    location=st.sampled_from(["in_county", "out_of_county", "out_of_province"]),
    referred=st.booleans(),
    designated=st.booleans(),
    admitted_on=st.just(date(2024, 6, 1)),
    discharged_on=st.just(date(2024, 6, 1)),
)


def _bill(in_policy: int, out_of_policy: int) -> Bill:
    return Bill(in_policy + out_of_policy, in_policy, out_of_policy)


def _policy(region: str) -> CompiledPolicy:
    return policy_for(region, POLICIES[region])


def _settle_year(
    policy: CompiledPolicy, visit: Visit, cats: frozenset[str], bills: list[Bill]
) -> tuple[list[SettlementResult], dict[str, int]]:
    year: dict[str, int] = {}
    results = []
    for bill in bills:
        result = settle(policy, visit=visit, categories=cats, bill=bill, year=year)
        results.append(result)
        year = add(year, result.deltas)
    return results, year


@settings(max_examples=300)
@given(regions, visits, categories, amounts, amounts)
def test_layers_and_patient_add_up_to_the_bill_to_the_fen(region, visit, cats, inside, outside):
    result = settle(
        _policy(region), visit=visit, categories=cats, bill=_bill(inside, outside), year={}
    )
    layers = sum(layer.amount_fen for layer in result.layers)
    assert layers + result.patient_pays_fen == result.total_fen
    assert result.waived_fen + result.funds_total_fen + result.patient_pays_fen == result.total_fen
    assert (
        result.patient_in_policy_fen + result.patient_out_of_policy_fen == result.patient_pays_fen
    )


@settings(max_examples=300)
@given(regions, visits, categories, amounts, amounts)
def test_no_amount_is_negative_and_no_layer_pays_over_its_base(
    region, visit, cats, inside, outside
):
    result = settle(
        _policy(region), visit=visit, categories=cats, bill=_bill(inside, outside), year={}
    )
    assert result.patient_in_policy_fen >= 0
    assert result.patient_out_of_policy_fen >= 0
    for layer in result.layers:
        assert 0 <= layer.amount_fen <= layer.base_fen or layer.amount_fen == 0
        assert layer.cap_left_fen is None or layer.cap_left_fen >= 0
    assert all(value > 0 for key, value in result.deltas.items())


@settings(max_examples=150)
@given(regions, visits, categories, st.lists(st.tuples(amounts, amounts), min_size=1, max_size=6))
def test_annual_caps_hold_across_any_sequence_of_admissions(region, visit, cats, stays):
    policy = _policy(region)
    bills = [_bill(i, o) for i, o in stays]
    results, year = _settle_year(policy, visit, cats, bills)
    for plan in policy.plan(visit, cats):
        paid = sum(r.layer(plan.code).amount_fen for r in results)
        assert paid == year.get(plan.key_paid, 0)
        if plan.annual_cap_fen is not None:
            assert paid <= plan.annual_cap_fen
        if plan.per_admission_cap_fen is not None:
            assert all(r.layer(plan.code).amount_fen <= plan.per_admission_cap_fen for r in results)


@settings(max_examples=150)
@given(
    st.sampled_from(["township", "county", "city"]),
    st.lists(st.tuples(amounts, amounts), min_size=1, max_size=6),
)
def test_the_safety_net_keeps_the_year_under_the_personal_cap(tier, stays):
    policy = _policy("990102")
    visit = Visit(
        "inpatient", "tertiary", tier, "in_county", False, True, date(2024, 6, 1), date(2024, 6, 1)
    )
    results, year = _settle_year(
        policy, visit, frozenset({"registered_poor"}), [_bill(i, o) for i, o in stays]
    )
    cap = {"township": 300_000, "county": 300_000, "city": 500_000}[tier]
    assert sum(r.patient_in_policy_fen for r in results) <= cap
    assert year.get("safety_net.personal_paid", 0) <= cap


@settings(max_examples=150)
@given(st.lists(st.integers(min_value=0, max_value=30_000_000), min_size=1, max_size=6))
def test_splitting_a_stay_never_changes_what_the_bands_pay_in_the_year(parts):
    policy = policy_for("420000", date(2018, 6, 1))
    visit = Visit(
        "inpatient",
        "secondary",
        "county",
        "in_county",
        False,
        True,
        date(2018, 6, 1),
        date(2018, 6, 1),
    )
    cats = frozenset({"registered_poor"})
    year: dict[str, int] = {}
    split_total = 0
    for part in parts:
        result = settle(
            policy,
            visit=visit,
            categories=cats,
            bill=_bill(part, 0),
            year=year,
            given={"basic_insurance": 0},
        )
        split_total += result.layer("critical_illness").amount_fen
        year = add(year, result.deltas)
    whole = settle(
        policy,
        visit=visit,
        categories=cats,
        bill=_bill(sum(parts), 0),
        year={},
        given={"basic_insurance": 0},
    )
    assert split_total == whole.layer("critical_illness").amount_fen


@settings(max_examples=300)
@given(regions, visits, categories, amounts, amounts, st.integers(min_value=1, max_value=5_000_000))
def test_a_higher_in_catalogue_cost_never_lowers_what_the_funds_pay(
    region, visit, cats, inside, outside, more
):
    policy = _policy(region)
    low = settle(policy, visit=visit, categories=cats, bill=_bill(inside, outside), year={})
    high = settle(policy, visit=visit, categories=cats, bill=_bill(inside + more, outside), year={})
    assert high.funds_total_fen >= low.funds_total_fen


@settings(max_examples=150)
@given(regions, visits, categories, st.lists(st.tuples(amounts, amounts), min_size=2, max_size=5))
def test_settlement_then_reversal_restores_the_accumulators(region, visit, cats, stays):
    policy = _policy(region)
    *earlier, last = [_bill(i, o) for i, o in stays]
    _, year = _settle_year(policy, visit, cats, earlier)
    result = settle(policy, visit=visit, categories=cats, bill=last, year=year)
    assert add(add(year, result.deltas), reverse_deltas(result.deltas)) == year


@settings(max_examples=100)
@given(regions, visits, categories, amounts, amounts)
def test_the_trace_does_not_change_the_numbers(region, visit, cats, inside, outside):
    policy = _policy(region)
    plain = settle(policy, visit=visit, categories=cats, bill=_bill(inside, outside), year={})
    traced = settle(
        policy, visit=visit, categories=cats, bill=_bill(inside, outside), year={}, trace=True
    )
    assert traced._replace(trace=()) == plain
    assert len(traced.trace) >= sum(1 for layer in plain.layers if layer.applied)
