"""A threshold moved by an adjustment moves where the bands start paying, in both conventions.

Raising a threshold (起付线) can only lower what the bands pay: the property below checks it for
any band layout, threshold, bill and year so far.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy import Bill, CompiledPolicy, parse_policy, resolve, settle
from service.policy.compiled import CompiledPolicy as Compiled
from service.policy.schema import Document
from tests.policy.helpers import bill, fen, visit

CUMULATIVE = """\
region: "990000"
name: test
version: "t1"
effective_from: 2024-01-01
layers:
  - code: critical_illness
    kind: bands
    fund_type: critical_illness
    name: 大病保险
    threshold: "5000.00"
    convention: cumulative
    bands:
      - {from: "5000.00", to: "30000.00", ratio: "0.60"}
      - {from: "30000.00", to: null, ratio: "0.70"}
    adjustments:
      - when: {locations: [out_of_province]}
        threshold: "40000.00"
"""
AWAY = visit(location="out_of_province")
NOBODY = frozenset[str]()


def _cumulative() -> CompiledPolicy:
    return resolve(parse_policy(CUMULATIVE), None)


def test_a_threshold_raised_past_the_first_band_pays_nothing_below_it() -> None:
    result = settle(_cumulative(), visit=AWAY, categories=NOBODY, bill=bill("35000.00"), year={})
    assert result.layer("critical_illness").amount_fen == 0


def test_above_a_raised_threshold_the_band_that_holds_it_pays() -> None:
    result = settle(_cumulative(), visit=AWAY, categories=NOBODY, bill=bill("50000.00"), year={})
    # 40,000 to 50,000 lies in the 30,000+ band: 10,000 x 0.70
    assert result.layer("critical_illness").amount_fen == fen("7000.00")


def test_the_unadjusted_threshold_still_pays_from_its_first_band() -> None:
    home = visit(location="in_county")
    result = settle(_cumulative(), visit=home, categories=NOBODY, bill=bill("35000.00"), year={})
    # 25,000 x 0.60 + 5,000 x 0.70
    assert result.layer("critical_illness").amount_fen == fen("18500.00")


def test_the_trace_names_the_threshold_and_what_this_bill_filled_of_it() -> None:
    result = settle(
        _cumulative(), visit=AWAY, categories=NOBODY, bill=bill("35000.00"), year={}, trace=True
    )
    line = next(t for t in result.trace if t.step == "critical_illness")
    assert "threshold 40000.00" in line.en
    assert "35000.00 of it filled by this bill" in line.en
    assert "起付线 40000.00" in line.zh
    assert line.en.endswith("= 0.00; left 35000.00")


# --- the property ----------------------------------------------------------------------------

yuan = st.integers(min_value=0, max_value=400).map(lambda h: h * 100)  # whole hundreds
ratios = st.integers(min_value=0, max_value=20).map(lambda n: Decimal(n) / 20)


@st.composite
def band_layouts(draw: st.DrawFn, *, rising: bool = False) -> tuple[str, int, list[dict[str, Any]]]:
    """A convention, its threshold and contiguous bands starting where that convention says;
    `rising`: ratios never fall from one band to the next (every shipped policy's bands)."""
    convention = draw(st.sampled_from(["cumulative", "above_threshold"]))
    threshold = draw(yuan)
    widths = draw(
        st.lists(st.integers(min_value=1, max_value=300).map(lambda h: h * 100), max_size=3)
    )
    drawn = draw(st.lists(ratios, min_size=len(widths) + 1, max_size=len(widths) + 1))
    band_ratios = sorted(drawn) if rising else drawn
    low = threshold if convention == "cumulative" else 0
    bands = []
    for width, ratio in zip(widths, band_ratios, strict=False):
        bands.append({"from": f"{low}.00", "to": f"{low + width}.00", "ratio": str(ratio)})
        low += width
    bands.append({"from": f"{low}.00", "to": None, "ratio": str(band_ratios[-1])})
    return convention, threshold, bands


def _raised(convention: str, threshold: int, bands: list[dict[str, Any]], raised: int) -> Compiled:
    layer = {
        "code": "critical_illness",
        "kind": "bands",
        "fund_type": "critical_illness",
        "name": "大病保险",
        "threshold": f"{threshold}.00",
        "convention": convention,
        "bands": bands,
        "adjustments": [{"when": {"locations": ["out_of_province"]}, "threshold": f"{raised}.00"}],
    }
    document = Document.model_validate(
        {
            "region": "990000",
            "name": "property",
            "version": "p",
            "effective_from": "2024-01-01",
            "layers": [layer],
        }
    )
    return Compiled(document)


def _both_thresholds(
    layout: tuple[str, int, list[dict[str, Any]]], raise_by: int, amount: int, before: int
) -> list[int]:
    """What one bill gets under the policy's threshold and under the raised one."""
    convention, threshold, bands = layout
    policy = _raised(convention, threshold, bands, threshold + raise_by)
    year = {"critical_illness.eligible": before}
    return [
        settle(
            policy,
            visit=visit(location=where),
            categories=NOBODY,
            bill=Bill(amount, amount, 0),
            year=year,
        )
        .layer("critical_illness")
        .amount_fen
        for where in ("in_county", "out_of_province")
    ]


@settings(max_examples=300)
@given(band_layouts(), yuan, st.integers(0, 10_000_000))
def test_raising_a_threshold_never_raises_a_years_payment(layout, raise_by, amount):
    """Any band layout: the year's bands pay no more once the threshold is higher."""
    normal, raised = _both_thresholds(layout, raise_by, amount, 0)
    assert raised <= normal


@settings(max_examples=300)
@given(band_layouts(rising=True), yuan, st.integers(0, 10_000_000), st.integers(0, 10_000_000))
def test_raising_a_threshold_never_raises_a_later_bills_payment(
    layout, raise_by, amount, eligible_before
):
    """Later in the year too, for bands whose ratio rises with the amount. (Were a later band's
    ratio lower, shifting above_threshold bands could move a richer band under this bill.)"""
    normal, raised = _both_thresholds(layout, raise_by, amount, eligible_before)
    assert raised <= normal


def _paid_below(x: int, threshold: int, bands: list[tuple[int, int | None, Fraction]]) -> Fraction:
    """What the bands owe on the year's eligible amount up to x, nothing below the threshold."""
    owed = Fraction(0)
    for low, high, ratio in bands:
        start, end = max(low, threshold), x if high is None else min(high, x)
        owed += ratio * max(0, end - start)
    return owed


def _half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


@settings(max_examples=300)
@given(band_layouts(), yuan, st.integers(0, 10_000_000), st.integers(0, 10_000_000))
def test_the_bands_pay_what_a_plain_reading_of_the_policy_says(
    layout, raise_by, amount, eligible_before
):
    """A slow, obvious reading: edges in fen (above_threshold ones shifted by the threshold in
    force), nothing paid below that threshold, the year's amount before and after this bill."""
    convention, threshold, bands = layout
    raised = threshold + raise_by
    policy = _raised(convention, threshold, bands, raised)
    shift = raised * 100 if convention == "above_threshold" else 0
    edges = [
        (
            int(Decimal(b["from"]) * 100) + shift,
            None if b["to"] is None else int(Decimal(b["to"]) * 100) + shift,
            Fraction(Decimal(b["ratio"])),
        )
        for b in bands
    ]
    t = raised * 100
    after = eligible_before + amount
    expected = _half_up(_paid_below(after, t, edges)) - _half_up(
        _paid_below(eligible_before, t, edges)
    )
    result = settle(
        policy,
        visit=AWAY,
        categories=NOBODY,
        bill=Bill(amount, amount, 0),
        year={"critical_illness.eligible": eligible_before},
    )
    assert result.layer("critical_illness").amount_fen == expected
