"""Policy validation names the YAML line and the field path of every problem."""

from __future__ import annotations

from datetime import date

import pytest

from service.policy import (
    PolicyError,
    check_versions,
    format_problems,
    load_policies,
    parse_policy,
    resolve,
)

PROVINCE = """\
region: "990000"
name: 演示省
version: "v1"
effective_from: 2024-01-01
effective_to: 2024-12-31
categories:
  registered_poor: 建档立卡贫困人口
layers:
  - code: basic_insurance
    kind: ratio
    fund_type: basic_insurance
    name: 基本医保
    deductible: "300.00"
    ratio: "0.70"
  - code: critical_illness
    kind: bands
    fund_type: critical_illness
    name: 大病保险
    threshold: "10000.00"
    convention: cumulative
    bands:
      - {from: "10000.00", to: "50000.00", ratio: "0.60"}
      - {from: "50000.00", to: null, ratio: "0.70"}
controls:
  covered_categories: [registered_poor]
"""


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="p.yaml")
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_a_valid_policy_parses() -> None:
    doc = parse_policy(PROVINCE)
    assert (doc.region_code, doc.version, doc.effective_from) == ("990000", "v1", date(2024, 1, 1))


def test_an_unknown_layer_kind_is_named_with_its_line() -> None:
    text = PROVINCE.replace("kind: bands", "kind: lottery")
    [(line, path, message)] = _problems(text)
    assert (line, path) == (16, "layers[1].kind")
    assert "unknown layer kind 'lottery'" in message


def test_bands_that_do_not_increase_are_refused() -> None:
    text = PROVINCE.replace('{from: "50000.00", to: null', '{from: "40000.00", to: null')
    [(line, path, message)] = _problems(text)
    assert (line, path) == (23, "layers[1].bands[1].from")
    assert "increase" in message


def test_a_band_ending_before_it_starts_is_refused() -> None:
    text = PROVINCE.replace('to: "50000.00"', 'to: "5000.00"')
    paths = [path for _, path, _ in _problems(text)]
    assert "layers[1].bands[0].to" in paths


def test_a_ratio_above_one_is_refused() -> None:
    [(line, path, message)] = _problems(PROVINCE.replace('ratio: "0.70"\n', 'ratio: "1.70"\n', 1))
    assert (line, path) == (14, "layers[0].ratio")
    assert "outside [0, 1]" in message


def test_a_negative_ratio_in_a_band_is_refused() -> None:
    [(_, path, message)] = _problems(PROVINCE.replace('ratio: "0.60"', 'ratio: "-0.60"'))
    assert path == "layers[1].bands[0].ratio"
    assert "outside [0, 1]" in message


def test_a_cap_below_zero_is_refused() -> None:
    text = PROVINCE.replace(
        '    ratio: "0.70"\n', '    ratio: "0.70"\n    annual_cap: "-1.00"\n', 1
    )
    [(line, path, message)] = _problems(text)
    assert (line, path) == (15, "layers[0].annual_cap")
    assert "below zero" in message


def test_a_category_nobody_defines_is_refused() -> None:
    text = PROVINCE.replace(
        "covered_categories: [registered_poor]", "covered_categories: [martian]"
    )
    [(line, path, message)] = _problems(text)
    assert (line, path) == (25, "controls.covered_categories[0]")
    assert "'martian' is not defined" in message


def test_a_county_may_use_its_provinces_categories_but_not_invent_one() -> None:
    county = (
        'region: "990102"\ninherits: "990000"\nname: 演示县\nversion: "v1"\n'
        "effective_from: 2024-01-01\nlayers:\n  - code: medical_aid\n    kind: ratio\n"
        '    fund_type: medical_aid\n    name: 医疗救助\n    ratio: "0.70"\n'
        "    applies_to: {categories: [registered_poor, unheard_of]}\n"
    )
    with pytest.raises(PolicyError) as caught:
        resolve(parse_policy(county, source="c.yaml"), parse_policy(PROVINCE, source="p.yaml"))
    [problem] = caught.value.problems
    assert (problem.source, problem.line) == ("c.yaml", 12)
    assert problem.path == "layers[2].applies_to.categories[1]"


def test_a_typo_in_a_field_name_is_refused() -> None:
    [(line, path, message)] = _problems(PROVINCE.replace("deductible:", "deductable:"))
    assert (line, path) == (13, "layers[0].deductable")
    assert "not permitted" in message


def test_amounts_are_never_floats() -> None:
    doc = parse_policy(PROVINCE.replace('deductible: "300.00"', "deductible: 300.10"))
    policy = resolve(doc, None)
    assert policy.document.layers[0].deductible * 100 == 30010


def test_problems_format_as_source_line_path_message() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(PROVINCE.replace("kind: bands", "kind: lottery"), source="p.yaml")
    assert format_problems(caught.value.problems).startswith("p.yaml:16: layers[1].kind: unknown")


def test_overlapping_versions_of_one_region_are_reported() -> None:
    first = parse_policy(PROVINCE, source="v1.yaml")
    second = parse_policy(
        PROVINCE.replace('version: "v1"', 'version: "v2"').replace("2024-01-01", "2024-07-01"),
        source="v2.yaml",
    )
    [problem] = check_versions([first, second])
    assert (problem.source, problem.line, problem.path) == ("v2.yaml", 4, "effective_from")
    assert "overlaps version 'v1'" in problem.message


def test_consecutive_versions_do_not_overlap() -> None:
    first = parse_policy(PROVINCE.replace("2024-12-31", "2024-06-30"))
    second = parse_policy(PROVINCE.replace("2024-01-01", "2024-07-01").replace("v1", "v2"))
    assert check_versions([first, second]) == []


def test_an_open_ended_version_overlaps_any_later_one() -> None:
    first = parse_policy(PROVINCE.replace("effective_to: 2024-12-31", "effective_to: null"))
    second = parse_policy(
        PROVINCE.replace("2024-01-01", "2025-01-01").replace("2024-12-31", "null")
    )
    assert len(check_versions([first, second])) == 1


def test_load_policies_collects_every_problem_from_every_file() -> None:
    bad = PROVINCE.replace("kind: bands", "kind: lottery")
    with pytest.raises(PolicyError) as caught:
        load_policies({"a.yaml": bad, "b.yaml": bad.replace("990000", "980000")})
    assert {p.source for p in caught.value.problems} == {"a.yaml", "b.yaml"}


def test_yaml_syntax_errors_carry_a_line() -> None:
    [(line, _, message)] = _problems("region: [unclosed\n")
    assert line is not None
    assert "not valid YAML" in message


def test_a_county_can_drop_a_provincial_layer_and_a_prefecture_can_sit_between() -> None:
    prefecture = (
        'region: "990100"\ninherits: "990000"\nname: 演示市\nversion: "m1"\n'
        'effective_from: 2024-01-01\nlayers:\n  - code: basic_insurance\n    ratio: "0.75"\n'
    )
    county = (
        'region: "990102"\ninherits: "990100"\nname: 演示县\nversion: "c1"\n'
        "effective_from: 2024-01-01\nlayers:\n  - code: critical_illness\n    remove: true\n"
    )
    policies = load_policies({"p.yaml": PROVINCE, "m.yaml": prefecture, "c.yaml": county})
    [compiled] = [p for p in policies if p.region_code == "990102"]
    [layer] = compiled.document.layers
    assert (layer.code, str(layer.ratio), str(layer.deductible)) == (
        "basic_insurance",
        "0.75",
        "300.00",
    )


def test_a_reduced_later_deductible_on_a_once_a_year_deductible_is_refused() -> None:
    text = PROVINCE.replace(
        '    deductible: "300.00"\n',
        '    deductible: "300.00"\n    deductible_accumulates: per_year\n'
        '    later_admissions: {factor: "0.5"}\n',
    )
    [(line, path, message)] = _problems(text)
    assert (line, path) == (15, "layers[0].later_admissions")
    assert "per_year" in message


def test_an_out_of_catalogue_deductible_needs_out_of_catalogue_cover() -> None:
    text = PROVINCE.replace(
        '    deductible: "300.00"\n',
        '    deductible: "300.00"\n    out_of_policy_deductible: "100"\n',
    )
    [(_, path, message)] = _problems(text)
    assert path == "layers[0].out_of_policy_deductible"
    assert "out_of_policy_ratio" in message


def test_a_hospital_share_needs_an_amount_or_a_share() -> None:
    text = PROVINCE.replace("kind: bands", "kind: hospital_share")
    problems = _problems(text)
    assert any("amount or out_of_policy_ratio" in message for _, _, message in problems)


def test_a_disease_or_bill_category_nobody_defines_is_refused() -> None:
    text = PROVINCE.replace(
        '    ratio: "0.70"\n',
        '    ratio: "0.70"\n    excludes_line_categories: [targeted_drug]\n'
        "    adjustments: [{when: {diseases: [appendicitis]}, applies: false}]\n",
    )
    messages = sorted(message for _, _, message in _problems(text))
    assert messages == [
        "bill category 'targeted_drug' is not defined in this policy's bill_categories "
        "or its parent's",
        "disease 'appendicitis' is not defined in this policy's diseases or its parent's",
    ]


def test_a_higher_cap_must_name_a_bands_layer_and_be_higher() -> None:
    text = PROVINCE.replace(
        '    ratio: "0.70"\n',
        '    ratio: "0.70"\n    annual_cap: "1000.00"\n    higher_caps:\n'
        '      - {eligible_of: basic_insurance, over: "1.00", annual_cap: "500.00"}\n',
    )
    messages = sorted(message for _, _, message in _problems(text))
    assert messages == [
        "'basic_insurance' is not a bands layer (its pool, if it has one)",
        "a higher annual_cap 500.00 is below the layer's 1000.00",
    ]


@pytest.mark.parametrize("inherits", ["", 'inherits: "990000"\n'])
def test_an_end_before_the_start_is_named_whether_or_not_the_document_inherits(
    inherits: str,
) -> None:
    """A part that inherits lacked fields, so the whole-document check never ran on it and
    the load said 'no version of parent 990000 is in force' instead of naming the dates."""
    county = (
        f'region: "990102"\n{inherits}name: 演示县\nversion: "v1"\n'
        "effective_from: 2024-07-01\neffective_to: 2024-06-30\n"
        "categories: {registered_poor: 建档立卡贫困人口}\n"
        "layers:\n  - {code: basic_insurance, kind: ratio, fund_type: basic_insurance,"
        ' name: 基本医保, ratio: "0.70"}\n'
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(county, source="c.yaml")
    [problem] = caught.value.problems
    assert (problem.path, problem.message) == (
        "effective_to",
        "effective_to is before effective_from",
    )
    assert problem.line == (6 if inherits else 5)
