"""The adjustment rule, pure: what a run books for one person is, per entry, the year's figure
computed afresh less what earlier runs booked. Nothing booked and a figure of zero books
nothing; an entry booked before that the policy no longer names (or that has no stays left)
is owed zero now, so its whole booked total comes back as a negative row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from service.policy.year_end import YearEndPayment as Figure
from service.yearend.store import Booked

__all__ = ["Figure", "Owed", "owed"]


class Owed(NamedTuple):
    figure: Figure  # the entry's figure for the year, as computed now
    booked_before_fen: int
    difference_fen: int  # what this run books (0: nothing)
    seq: int  # the position the booking takes


def owed(figures: Sequence[Figure], booked: Mapping[str, Booked]) -> list[Owed]:
    """Every entry computed now or booked before, in the policy's order, then the others."""
    out = []
    for figure in figures:
        before = booked.get(figure.code)
        total, seq = (before.total_fen, before.last_seq) if before else (0, 0)
        out.append(Owed(figure, total, figure.amount_fen - total, seq + 1))
    named = {f.code for f in figures}
    for code, before in sorted(booked.items()):
        if code not in named:
            gone = Figure(code, before.fund_type, before.name, 0, 0, 0, 0, 0, 0)
            out.append(Owed(gone, before.total_fen, -before.total_fen, before.last_seq + 1))
    return out
