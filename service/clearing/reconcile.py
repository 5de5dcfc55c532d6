"""对账: a fund's detail file against our statement, line by line (by settlement id).

Both sides are summed per settlement id first (a settlement and its reversal in one period net
to zero on both sides; the file lists each of the two at most once, detail_file.py); ids whose
amount is zero on our side and absent from theirs are not listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from service.clearing.detail_file import TheirLine
from service.clearing.schemas import (
    LinePublic,
    ReconciledLine,
    Reconciliation,
    StatementPublic,
)
from service.money import fen_to_yuan, yuan_to_fen


def _ours(lines: Sequence[LinePublic]) -> dict[int, tuple[str, int]]:
    sums: dict[int, int] = defaultdict(int)
    visits: dict[int, str] = {}
    for line in lines:
        sums[line.settlement_id] += yuan_to_fen(line.fund_own_amt)
        visits[line.settlement_id] = line.visit_id
    return {sid: (visits[sid], fen) for sid, fen in sums.items()}


def _theirs(lines: Sequence[TheirLine]) -> dict[int, tuple[str, int]]:
    sums: dict[int, int] = defaultdict(int)
    visits: dict[int, str] = {}
    for line in lines:
        sums[line.settlement_id] += line.amount_fen
        visits.setdefault(line.settlement_id, line.visit_id)
    return {sid: (visits[sid], fen) for sid, fen in sums.items()}


def reconcile(statement: StatementPublic, theirs_lines: Sequence[TheirLine]) -> Reconciliation:
    ours, theirs = _ours(statement.lines), _theirs(theirs_lines)
    matched, ours_only, theirs_only, mismatched = [], [], [], []
    for sid in sorted(set(ours) | set(theirs)):
        our, their = ours.get(sid), theirs.get(sid)
        if their is None:
            if our is not None and our[1] != 0:
                ours_only.append(_out(sid, our[0], our[1], None))
        elif our is None:
            theirs_only.append(_out(sid, their[0], None, their[1]))
        elif our[1] == their[1] and our[0] == their[0]:
            matched.append(_out(sid, our[0], our[1], their[1]))
        else:
            mismatched.append(_out(sid, our[0], our[1], their[1], their_visit=their[0]))
    ours_total = sum(fen for _, fen in ours.values())
    theirs_total = sum(fen for _, fen in theirs.values())
    return Reconciliation(
        fund_code=statement.fund_code,
        hospital_code=statement.hospital_code,
        period=statement.period,
        statement_status=statement.status,
        statement_id=statement.id,
        ours_total=fen_to_yuan(ours_total),
        theirs_total=fen_to_yuan(theirs_total),
        difference=fen_to_yuan(theirs_total - ours_total),
        balanced=not (ours_only or theirs_only or mismatched),
        matched=matched,
        ours_only=ours_only,
        theirs_only=theirs_only,
        mismatched=mismatched,
    )


def _out(
    sid: int, visit: str, ours: int | None, theirs: int | None, *, their_visit: str | None = None
) -> ReconciledLine:
    return ReconciledLine(
        settlement_id=sid,
        visit_id=visit,
        their_visit_id=their_visit if their_visit not in (None, visit) else None,
        ours=None if ours is None else fen_to_yuan(ours),
        theirs=None if theirs is None else fen_to_yuan(theirs),
        difference=None if ours is None or theirs is None else fen_to_yuan(theirs - ours),
    )
