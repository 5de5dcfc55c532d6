"""Every worked example of the shapes counties write (tests/policy/examples), to the fen."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy import (
    Bill,
    BillLine,
    CompiledPolicy,
    PriorAdmissions,
    SettlementResult,
    Visit,
    load_policies,
    settle,
    settle_year_end,
)
from tests.policy.helpers import add, fen

EXAMPLES = Path(__file__).resolve().parent / "examples"
FILES = sorted(EXAMPLES.glob("*.json"))


def _visit(spec: dict[str, Any], effective_from: date) -> Visit:
    on = date.fromisoformat(spec["on"]) if "on" in spec else effective_from
    return Visit(
        visit_type=spec.get("visit_type", "inpatient"),
        hospital_level=spec.get("level", "secondary"),
        hospital_tier=spec.get("tier", "county"),
        location=spec.get("location", "in_county"),
        referred=spec.get("referred", True),
        designated=spec.get("designated", True),
        admitted_on=on,
        discharged_on=on,
        in_pooling_region=spec.get("in_pooling_region"),
        disease=spec.get("disease"),
    )


def _bill(spec: dict[str, Any]) -> Bill:
    inside, outside = fen(spec["in_policy"]), fen(spec.get("out_of_policy", "0.00"))
    lines = tuple(
        BillLine(
            line["item"],
            fen(line["amount"]),
            line.get("in_policy", True),
            **({"category": line["category"]} if "category" in line else {}),
        )
        for line in spec.get("lines", [])
    )
    return Bill(inside + outside, inside, outside, lines)


def _kwargs(case: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "given" in case:
        out["given"] = {code: fen(v) for code, v in case["given"].items()}
    if "prior" in case:
        prior = dict(case["prior"])
        month = {key: fen(v) for key, v in prior.pop("paid_this_month", {}).items()}
        out["prior"] = PriorAdmissions(**prior, paid_this_month=month)
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_case_of_the_example_settles_to_the_fen(path: Path) -> None:
    example = json.loads(path.read_text(encoding="utf-8"))
    assert example["source"]
    assert example["kind"] in {"published", "derived"}
    text = (EXAMPLES / example["policy_file"]).read_text(encoding="utf-8")
    (policy,) = load_policies({example["policy_file"]: text})
    year: dict[str, int] = {}
    stays: list[tuple[Visit, Bill, SettlementResult]] = []
    for case in example["cases"]:
        if not case.get("continues"):
            year = {key: fen(v) for key, v in case.get("year", {}).items()}
            stays = []
        visit = _visit(case.get("visit", {}), policy.effective_from)
        bill = _bill(case["bill"])
        categories = frozenset(case.get("categories", ["registered_poor"]))
        result = settle(
            policy,
            visit=visit,
            categories=categories,
            bill=bill,
            year=year,
            trace=True,
            **_kwargs(case),
        )
        stays.append((visit, bill, result))
        if "year_end" in case:
            paid = settle_year_end(policy, categories=categories, stays=stays)
            got_year_end = {p.code: p.amount_fen for p in paid}
            assert got_year_end == {c: fen(v) for c, v in case["year_end"].items()}, case["name"]
        want = case["expected"]
        got = {code: result.layer(code).amount_fen for code in want.get("layers", {})}
        assert got == {code: fen(v) for code, v in want.get("layers", {}).items()}, case["name"]
        for field in ("patient_pays", "waived", "funds_total"):
            if field in want:
                assert getattr(result, f"{field}_fen") == fen(want[field]), case["name"]
        layers = sum(layer.amount_fen for layer in result.layers)
        assert layers + result.patient_pays_fen == result.total_fen
        year = add(year, result.deltas)


DATA = Path(__file__).resolve().parents[2] / "service" / "policy" / "data"
SHIPPED = sorted(DATA.glob("*.yaml"))
YAMLS = SHIPPED + sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", YAMLS, ids=[p.stem for p in YAMLS])
def test_policy_explain_handles_every_shipped_policy_and_every_shape(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from service import cli

    argv = ["policy", "explain", str(path), "--bill", "60000.00,50000.00,10000.00"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "total 60000.00" in out
    assert "actual ratio" in out


def _example_policies() -> list[CompiledPolicy]:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))}
    return list(load_policies(texts))


locations = st.sampled_from(
    [("in_county", None), ("in_county", True), ("out_of_county", None)]
    + [("out_of_county", True), ("out_of_county", False), ("out_of_province", None)]
)


@pytest.mark.slow
@settings(max_examples=300)
@given(
    st.sampled_from(_example_policies()),
    locations,
    st.sampled_from(["primary", "secondary", "tertiary"]),
    st.sampled_from(["inpatient", "chronic_outpatient"]),
    st.frozensets(st.sampled_from(["registered_poor", "lifted_out"]), max_size=2),
    st.sampled_from([None, "appendectomy_package", "childhood_leukemia"]),
    st.lists(
        st.tuples(st.integers(0, 50_000_000), st.integers(0, 10_000_000), st.integers(0, 100)),
        max_size=5,
    ),
)
def test_every_shape_conserves_every_fen(policy, where, level, visit_type, cats, disease, stays):
    visit = Visit(
        visit_type,
        level,
        "county",
        where[0],
        True,
        True,
        policy.effective_from,
        policy.effective_from,
        where[1],
        disease,
    )
    year: dict[str, int] = {}
    for n, (inside, outside, percent) in enumerate(stays):
        drug = inside * percent // 100
        lines = (
            BillLine("drug", drug, True, "targeted_drug"),
            BillLine("other", inside - drug, True),
            BillLine("other", outside, False),
        )
        bill = Bill(inside + outside, inside, outside, lines)
        prior = PriorAdmissions(n, n % 2, n % 3 and 1)
        given = {p.code: 0 for p in policy.plan(visit, cats) if p.kind == "external"}
        result = settle(
            policy, visit=visit, categories=cats, bill=bill, year=year, prior=prior, given=given
        )
        layers = sum(layer.amount_fen for layer in result.layers)
        assert layers + result.patient_pays_fen == bill.total_fen
        assert (
            result.waived_fen + result.funds_total_fen + result.patient_pays_fen == bill.total_fen
        )
        assert min(result.patient_in_policy_fen, result.patient_out_of_policy_fen) >= 0
        year = add(year, result.deltas)


def test_policy_explain_shows_the_year_end_top_up(capsys: pytest.CaptureFixture[str]) -> None:
    from service import cli

    path = EXAMPLES / "S7-year-end-top-up.yaml"
    argv = ["policy", "explain", str(path), "--bill", "60000.00,60000.00,0.00"]
    argv += ["--categories", "medical_aid_recipient", "--given", "basic_insurance=20000"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    # aid (60000 - 20000) x 0.70 = 28000; self-pay 12000 above 10% of 60000 -> 6000
    assert "medical_aid" in out
    assert "year end year_end_top_up" in out
    assert "self-pay 12000.00 above 6000.00 -> 6000.00" in out


@pytest.mark.slow
@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(0, 30_000_000), st.integers(0, 30_000_000), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_the_year_end_top_up_never_exceeds_the_years_self_pay(stays):
    (policy,) = load_policies(
        {"S7": (EXAMPLES / "S7-year-end-top-up.yaml").read_text(encoding="utf-8")}
    )
    cats = frozenset({"low_income_edge"})
    year: dict[str, int] = {}
    done = []
    for inside, basic, local in stays:
        on = policy.effective_from
        where = "in_county" if local else "out_of_county"
        visit = Visit("inpatient", "secondary", "county", where, True, True, on, on)
        bill = Bill(inside, inside, 0)
        given = {"basic_insurance": min(basic, inside), "critical_illness": 0}
        result = settle(policy, visit=visit, categories=cats, bill=bill, year=year, given=given)
        done.append((visit, bill, result))
        year = add(year, result.deltas)
    (paid,) = settle_year_end(policy, categories=cats, stays=done)
    local_self_pay = sum(r.patient_in_policy_fen for v, _, r in done if v.location == "in_county")
    assert paid.self_pay_fen == local_self_pay
    assert 0 <= paid.amount_fen <= local_self_pay
    assert paid.patient_after_fen == local_self_pay - paid.amount_fen


def test_policy_explain_takes_the_disease_and_earlier_admissions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service import cli

    package = EXAMPLES / "S5-lines-with-rules-of-their-own.yaml"
    argv = ["policy", "explain", str(package), "--bill", "6000.00,5500.00,500.00"]
    assert cli.main([*argv, "--disease", "appendectomy_package"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"package_fund\s.*4200\.00", out)
    assert re.search(r"package_excess\s.*1000\.00", out)
    later = EXAMPLES / "S3-deductible-modes.yaml"
    argv = ["policy", "explain", str(later), "--bill", "10000.00,10000.00,0.00"]
    assert cli.main([*argv, "--prior", "1,0,0"]) == 0
    assert re.search(r"basic_insurance\s.*7350\.00", capsys.readouterr().out)


def test_the_pooling_region_is_the_prefecture_unless_the_policy_pools_elsewhere() -> None:
    from service.policy import in_same_pooling_region

    assert in_same_pooling_region("511803", "511802", pooled_at="prefecture")
    assert not in_same_pooling_region("510104", "511802", pooled_at="prefecture")
    assert in_same_pooling_region("510104", "511802", pooled_at="province")
    assert not in_same_pooling_region("511803", "511802", pooled_at="county")


def test_a_visit_cannot_contradict_its_location() -> None:
    on = date(2025, 1, 1)
    with pytest.raises(ValueError, match="out_of_province"):
        Visit("inpatient", "secondary", "county", "out_of_province", True, True, on, on, True)
    with pytest.raises(ValueError, match="in_county"):
        Visit("inpatient", "secondary", "county", "in_county", True, True, on, on, False)
    with pytest.raises(ValueError, match="also in the year"):
        PriorAdmissions(this_year=0, at_hospital_this_year=1)
