"""What-if (政策测算) on the pure engine: a period settled again under a proposal."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from service.policy import Bill, CompiledPolicy, Visit, load_policies, settle
from service.policy.whatif import Stay, YearShare, what_if
from tests.policy.helpers import add, bill, fen, policy_for

EXAMPLES = Path(__file__).parent / "examples"

ON = date(2025, 3, 1)
VISIT = Visit("inpatient", "secondary", "county", "in_county", True, True, ON, ON)

SIMPLE = """\
region: "990300"
name: 测算样例
version: "{version}"
effective_from: 2025-01-01
categories: {{registered_poor: 建档立卡贫困人口}}
controls: {{covered_categories: [registered_poor], target_ratio: {{inpatient: "0.90"}}}}
layers:
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 基本医保
    deductible: "500.00"
    ratio: "{ratio}"
{cap}"""


def _simple(ratio: str, cap: str = "") -> CompiledPolicy:
    text = SIMPLE.format(version=f"r{ratio}", ratio=ratio, cap=cap)
    (policy,) = load_policies({"simple.yaml": text})
    return policy


def _stored(policy: CompiledPolicy, people_bills: list[tuple[str, Bill]], visit: Visit = VISIT):
    """Settle in order as the service did, and keep what each paid: the period's stays."""
    years: dict[str, dict[str, int]] = {}
    stays = []
    for person, b in people_bills:
        year = years.get(person, {})
        result = settle(
            policy, visit=visit, categories=frozenset({"registered_poor"}), bill=b, year=year
        )
        years[person] = add(year, result.deltas)
        paid: dict[str, int] = {}
        for layer in result.layers:
            paid[layer.fund_type] = paid.get(layer.fund_type, 0) + layer.amount_fen
        stays.append(
            Stay(
                person_key=person,
                person_masked=f"{person}***",
                pool="990300",
                year=2025,
                hospital_code="H1",
                visit=visit,
                categories=frozenset({"registered_poor"}),
                bill=b,
                given={},
                keep_fund_types=None,
                paid_now=paid,
                waived_now_fen=result.waived_fen,
                patient_now_fen=result.patient_pays_fen,
            )
        )
    return stays


def test_a_shipped_policy_against_itself_changes_nothing() -> None:
    policy = policy_for("990102", date(2024, 6, 1))
    on = date(2024, 6, 1)
    visit = Visit("inpatient", "tertiary", "city", "in_county", True, True, on, on)
    sample = [
        (f"p{i % 7}", bill(f"{(i * 7919) % 90000 + 500}.00", f"{(i * 31) % 3000}.00"))
        for i in range(60)
    ]
    report = what_if(_stored(policy, sample, visit), policy)
    assert report.settlements == 60
    assert report.funds_now_fen == report.funds_proposed_fen > 0
    assert all(line.difference_fen == 0 for line in report.funds)
    assert report.patient_now_fen == report.patient_proposed_fen
    assert all(line.now == line.proposed for line in report.ratios)
    assert all(line.below_target_now == line.below_target_proposed for line in report.ratios)
    assert report.rising == ()


def test_a_lower_ratio_costs_the_hand_calculated_difference() -> None:
    # A: (10500 - 500) x 0.70 = 7000 now, x 0.65 = 6500: the patient pays 500 more
    # B: (20500 - 500) x 0.70 = 14000 now, x 0.65 = 13000: the patient pays 1000 more
    stays = _stored(_simple("0.70"), [("A", bill("10500.00")), ("B", bill("20500.00"))])
    report = what_if(stays, _simple("0.65"))
    [fund] = report.funds
    assert fund == ("basic_insurance", fen("21000.00"), fen("19500.00"), -fen("1500.00"))
    assert report.patient_proposed_fen - report.patient_now_fen == fen("1500.00")
    assert [(p.person_masked, p.rise_fen) for p in report.rising] == [
        ("B***", fen("1000.00")),
        ("A***", fen("500.00")),
    ]
    everyone = next(line for line in report.ratios if line.category == "*")
    assert (everyone.stays, everyone.below_target_now, everyone.below_target_proposed) == (2, 2, 2)
    # 7000/10500 = 0.6667 and 14000/20500 = 0.6829 -> [0.60, 0.70); 0.6190 and 0.6341 too
    assert everyone.now[2] == everyone.proposed[2] == 2


def test_a_pool_with_a_policy_of_its_own_is_settled_under_it() -> None:
    # A's pool keeps 0.70 (its own version over the proposal), B's takes the proposal's 0.65:
    # only B's (20500 - 500) x 0.05 = 1000 is the difference
    stays = _stored(_simple("0.70"), [("A", bill("10500.00")), ("B", bill("20500.00"))])
    stays[0] = dataclasses.replace(stays[0], pool="990301")
    report = what_if(stays, _simple("0.65"), by_pool={"990301": _simple("0.70")})
    [fund] = report.funds
    assert fund == ("basic_insurance", fen("21000.00"), fen("20000.00"), -fen("1000.00"))
    assert [(p.person_masked, p.rise_fen) for p in report.rising] == [("B***", fen("1000.00"))]
    assert report.policy_version == "r0.65"  # the report names the proposal


def test_the_proposal_runs_its_own_accumulators_in_order() -> None:
    # annual cap 10000: now 7000 + 3000; at 0.75: 7500 + 2500 - the year costs the same
    cap = '    annual_cap: "10000.00"\n'
    stays = _stored(_simple("0.70", cap), [("A", bill("10500.00")), ("A", bill("10500.00"))])
    assert [s.paid_now["basic_insurance"] for s in stays] == [fen("7000.00"), fen("3000.00")]
    report = what_if(stays, _simple("0.75", cap))
    assert report.funds[0].difference_fen == 0
    assert report.rising == ()


def test_progress_is_reported() -> None:
    seen: list[int] = []
    stays = _stored(_simple("0.70"), [("A", bill("600.00"))] * 5)
    what_if(stays, _simple("0.70"), progress=seen.append, progress_every=2)
    assert seen == [2, 4, 5]


def _stage(admission: int, total: str, paid: str, patient: str) -> Stay:
    return Stay(
        person_key="S",
        person_masked="S***",
        pool="990300",
        year=2025,
        hospital_code="H1",
        visit=VISIT,
        categories=frozenset({"registered_poor"}),
        bill=bill(total),
        given={},
        keep_fund_types=None,
        paid_now={"basic_insurance": fen(paid)},
        waived_now_fen=0,
        patient_now_fen=fen(patient),
        admission=admission,
    )


def test_a_later_stage_is_the_stay_so_far_less_the_earlier_stages() -> None:
    # stage 1, 300: under the deductible of 500; stage 2, 10200: the stay so far 10500 pays
    # (10500 - 500) x 0.70 = 7000 (alone it would pay (10200 - 500) x 0.70 = 6790)
    stages = [_stage(1, "300.00", "0.00", "300.00"), _stage(1, "10200.00", "7000.00", "3200.00")]
    same = what_if(stages, _simple("0.70"))
    assert same.funds[0] == ("basic_insurance", fen("7000.00"), fen("7000.00"), 0)
    assert same.patient_now_fen == same.patient_proposed_fen
    # at 0.65: (10500 - 500) x 0.65 = 6500, 500 less
    lower = what_if(stages, _simple("0.65"))
    assert lower.funds[0].difference_fen == -fen("500.00")
    assert [p.rise_fen for p in lower.rising] == [fen("500.00")]


def _s7_stays(policy: CompiledPolicy) -> list[Stay]:
    """The S7 worked example's two local stays of a medical-aid recipient, as stored."""
    on = date(2025, 3, 1)
    visit = Visit("inpatient", "secondary", "county", "in_county", False, False, on, on)
    categories = frozenset({"medical_aid_recipient"})
    year: dict[str, int] = {}
    stays = []
    for b, given in (
        (
            bill("135000.00", "15000.00"),
            {"basic_insurance": "68828.00", "critical_illness": "37161.80"},
        ),
        (bill("60000.00"), {"basic_insurance": "20000.00", "critical_illness": "0.00"}),
    ):
        amounts = {code: fen(yuan) for code, yuan in given.items()}
        result = settle(
            policy, visit=visit, categories=categories, bill=b, year=year, given=amounts
        )
        year = add(year, result.deltas)
        paid: dict[str, int] = {}
        for layer in result.layers:
            paid[layer.fund_type] = paid.get(layer.fund_type, 0) + layer.amount_fen
        stays.append(
            Stay(
                "P",
                "P***",
                "320211",
                2025,
                "H1",
                visit,
                categories,
                b,
                amounts,
                None,
                paid,
                result.waived_fen,
                result.patient_pays_fen,
                patient_in_policy_now_fen=result.patient_in_policy_fen,
            )
        )
    return stays


def test_a_proposal_that_adds_a_year_end_entry_shows_its_cost() -> None:
    text = (EXAMPLES / "S7-year-end-top-up.yaml").read_text(encoding="utf-8")
    (with_entry,) = load_policies({"s7.yaml": text})
    (without,) = load_policies({"s7.yaml": text[: text.index("year_end:")]})
    stays = _s7_stays(without)
    # the year's in-catalogue self-pay 8703.06 + 12000.00 = 20703.06 is 1203.06 above 10% of
    # 195000.00 (the S7 case): the proposal's top-up, which nobody pays now
    report = what_if(stays, with_entry, now_year_end={"320211": without})
    [line] = report.year_end
    assert (line.code, line.now_fen, line.proposed_fen, line.difference_fen) == (
        "year_end_top_up",
        0,
        fen("1203.06"),
        fen("1203.06"),
    )
    assert (line.persons_now, line.persons_proposed) == (0, 1)
    aid = next(f for f in report.funds if f.fund_type == "medical_aid")
    assert aid.difference_fen == fen("1203.06")
    assert report.patient_now_fen - report.patient_proposed_fen == fen("1203.06")
    # and the other way round: the saving of dropping it
    back = what_if(_s7_stays(with_entry), without, now_year_end={"320211": with_entry})
    assert [(y.now_fen, y.proposed_fen) for y in back.year_end] == [(fen("1203.06"), 0)]
    assert back.funds_proposed_fen - back.funds_now_fen == -fen("1203.06")


def test_a_year_end_entry_needs_the_stored_results() -> None:
    text = (EXAMPLES / "S7-year-end-top-up.yaml").read_text(encoding="utf-8")
    (policy,) = load_policies({"s7.yaml": text})
    bare = [dataclasses.replace(stay, patient_in_policy_now_fen=None) for stay in _s7_stays(policy)]
    with pytest.raises(ValueError, match="patient_in_policy_now_fen"):
        what_if(bare, policy)


def test_a_stored_split_stay_counts_each_part_in_its_own_year_now() -> None:
    """As a year-end run counts it (ADR 0021, amendment): P's 60000.00 stay stored split
    30000.00 / 30000.00 between 2024 and 2025 (6000.00 of the patient's in each) counts its
    2025 part now: 135000.00 + 30000.00 in catalogue, 8703.06 + 6000.00 below 10% of it,
    nothing; the proposal does not split it: whole, 1203.06 (the S7 case). Q's stay of 2026,
    replayed not reported, stored with a 2025 part of 10000.00 (3000.00 the patient's), counts
    that part in 2025 now: 3000.00 above 1000.00, 2000.00; proposed, whole in 2026: nothing."""
    text = (EXAMPLES / "S7-year-end-top-up.yaml").read_text(encoding="utf-8")
    (policy,) = load_policies({"s7.yaml": text})
    first, second = _s7_stays(policy)
    half = fen("30000.00"), fen("30000.00"), fen("6000.00"), fen("6000.00")
    second = dataclasses.replace(second, now_parts=(YearShare(2024, *half), YearShare(2025, *half)))
    later = dataclasses.replace(
        second,
        person_key="Q",
        person_masked="Q***",
        year=2026,
        reported=False,
        now_parts=(
            YearShare(2025, *(fen(y) for y in ("10000.00", "10000.00", "3000.00", "3000.00"))),
            YearShare(2026, *(fen(y) for y in ("50000.00", "50000.00", "9000.00", "9000.00"))),
        ),
    )
    report = what_if([first, second, later], policy, now_year_end={"320211": policy}, over=2025)
    [line] = report.year_end
    assert (line.now_fen, line.proposed_fen, line.persons_now, line.persons_proposed) == (
        fen("2000.00"),
        fen("1203.06"),
        1,
        1,
    )
    assert report.settlements == 2
    rising = {p.person_masked: (p.stays, p.now_fen, p.proposed_fen) for p in report.rising}
    assert rising == {"Q***": (0, -fen("2000.00"), 0)}  # topped up now for a stay of 2026


def test_a_visit_type_without_a_stated_target_counts_nobody_below_one() -> None:
    """Targets are policy numbers: a proposal that states none for a visit type is not measured
    against a number the service made up (the programme's usual 80% or 90% included)."""
    untargeted = SIMPLE.replace(', target_ratio: {{inpatient: "0.90"}}', "")
    assert untargeted != SIMPLE
    (proposal,) = load_policies(
        {"untargeted.yaml": untargeted.format(version="none", ratio="0.65", cap="")}
    )
    assert not proposal.controls.target_ratio
    stays = _stored(_simple("0.70"), [("A", bill("10500.00")), ("B", bill("20500.00"))])
    everyone = next(line for line in what_if(stays, proposal).ratios if line.category == "*")
    # Both stays are far below 90% (0.62-0.68) and would count, were a target made up.
    assert everyone.proposed[2] == 2
    assert (everyone.stays, everyone.below_target_now, everyone.below_target_proposed) == (2, 0, 0)
