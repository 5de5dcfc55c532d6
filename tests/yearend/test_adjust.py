"""The adjustment rule without a database: over any sequence of settlements added, reversed
and year-end runs, the rows booked add up to one fresh computation over the stays still
active; a run right after a run books nothing; each entry's rows take positions 1, 2, 3 ..."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy import Bill, Visit, load_policies, settle, settle_year_end
from service.yearend.adjust import Figure, owed
from service.yearend.store import Booked

S7 = Path(__file__).parents[1] / "policy" / "examples" / "S7-year-end-top-up.yaml"
(POLICY,) = load_policies({"S7": S7.read_text(encoding="utf-8")})
CATS = frozenset({"medical_aid_recipient"})

Row = tuple[str, int, int]  # (code, seq, amount_fen)


def _booked(rows: list[Row]) -> dict[str, Booked]:
    out: dict[str, Booked] = {}
    for code, seq, amount in rows:
        before = out.get(code)
        total = (before.total_fen if before else 0) + amount
        out[code] = Booked("p", "320211", code, "m", code, "medical_aid", total, seq)
    return out


def _run(stays: list, rows: list[Row]) -> int:
    """One run: book what differs; the number of rows booked."""
    figures = settle_year_end(POLICY, categories=CATS, stays=stays)
    lines = [line for line in owed(figures, _booked(rows)) if line.difference_fen]
    rows.extend((line.figure.code, line.seq, line.difference_fen) for line in lines)
    return len(lines)


def _stay(inside: int, basic: int, local: bool) -> tuple:
    on = POLICY.effective_from
    where = "in_county" if local else "out_of_county"
    visit = Visit("inpatient", "secondary", "county", where, True, True, on, on)
    bill = Bill(inside, inside, 0)
    given_ = {"basic_insurance": min(basic, inside), "critical_illness": 0}
    return (
        visit,
        bill,
        settle(POLICY, visit=visit, categories=CATS, bill=bill, year={}, given=given_),
    )


STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 20_000_000),
            st.integers(0, 20_000_000),
            st.booleans(),
        ),
        st.tuples(st.just("reverse"), st.integers(0, 9)),
        st.tuples(st.just("run")),
    ),
    max_size=14,
)


@pytest.mark.slow
@settings(max_examples=150)
@given(STEPS)
def test_booked_rows_add_up_to_a_fresh_computation(steps: list[tuple]) -> None:
    active: list[tuple] = []
    rows: list[Row] = []
    for step in steps:
        if step[0] == "add":
            active.append(_stay(*step[1:]))
        elif step[0] == "reverse" and active:
            active.pop(step[1] % len(active))
        elif step[0] == "run":
            _run(active, rows)
            assert _run(active, rows) == 0  # the same year again books nothing
    _run(active, rows)
    fresh = {f.code: f.amount_fen for f in settle_year_end(POLICY, categories=CATS, stays=active)}
    summed: dict[str, int] = defaultdict(int)
    positions: dict[str, list[int]] = defaultdict(list)
    for code, seq, amount in rows:
        summed[code] += amount
        positions[code].append(seq)
    assert {code: summed.get(code, 0) for code in fresh} == fresh
    for seqs in positions.values():
        assert seqs == list(range(1, len(seqs) + 1))


def test_an_entry_the_policy_no_longer_names_is_booked_back_to_zero() -> None:
    before = {"retired": Booked("p", "320211", "retired", "m", "旧补足", "medical_aid", 500, 2)}
    (line,) = owed((), before)
    assert (line.figure.code, line.difference_fen, line.seq) == ("retired", -500, 3)
    assert line.figure == Figure("retired", "medical_aid", "旧补足", 0, 0, 0, 0, 0, 0)
