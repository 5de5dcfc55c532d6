"""Settling a stay in stages (中途结算) and settling it once give the same total (ADR 0018).

They should wherever the stages fall in one plan year, under every shipped rule: each stage is
the stay so far less what the earlier stages paid, on the accumulators as they were before the
stay, so per-admission deductibles, per-year thresholds and caps all continue across stages.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy import Bill, CompiledPolicy, Visit, settle
from service.settlements import stages
from tests.policy.helpers import add
from tests.policy.test_properties import CATEGORIES, POLICIES, _policy, visits

parts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=20_000_000),
        st.integers(min_value=0, max_value=2_000_000),
    ),
    min_size=1,
    max_size=4,
)


def _in_stages(
    policy: CompiledPolicy,
    visit: Visit,
    cats: frozenset[str],
    bills: list[Bill],
    year: dict[str, int],
) -> tuple[list[int], list[int], dict[str, int]]:
    paid: list[stages.Paid] = []
    funds, patient = [], []
    for bill in bills:
        whole, given_so_far = stages.so_far(bill, {}, paid)
        cumulative = settle(
            policy,
            visit=visit,
            categories=cats,
            bill=whole,
            year=stages.baseline(year, paid),
            given=given_so_far,
        )
        stage = stages.stage_of(cumulative, paid, bill)
        # the stage adds up on its own: layers and the patient make its bill
        assert sum(r.amount_fen for r in stage.layers) + stage.patient_pays_fen == bill.total_fen
        year = add(year, stage.deltas)
        paid.append(stages.paid_from(stage, bill, {}))
        funds.append(stage.funds_total_fen)
        patient.append(stage.patient_pays_fen)
    return funds, patient, year


@settings(max_examples=150)
@given(
    st.sampled_from(sorted(POLICIES)),
    visits,
    st.frozensets(st.sampled_from(CATEGORIES), max_size=3),
    parts,
    st.integers(min_value=0, max_value=30_000_000),
)
def test_stages_and_once_give_the_same_total(
    region: str,
    visit: Visit,
    cats: frozenset[str],
    amounts: list[tuple[int, int]],
    before: int,
) -> None:
    policy = _policy(region)
    # the person's year so far: an earlier admission
    earlier = settle(policy, visit=visit, categories=cats, bill=Bill(before, before, 0), year={})
    year = add({}, earlier.deltas)
    bills = [Bill(i + o, i, o) for i, o in amounts]
    funds, patient, staged_year = _in_stages(policy, visit, cats, bills, year)
    whole = Bill(
        sum(b.total_fen for b in bills), sum(i for i, _ in amounts), sum(o for _, o in amounts)
    )
    once = settle(policy, visit=visit, categories=cats, bill=whole, year=year)
    assert sum(funds) == once.funds_total_fen
    assert sum(patient) == once.patient_pays_fen
    assert staged_year == add(year, once.deltas)
