"""Pure: whether a receivable (or its instalments) is overdue, and since when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from service.receivables.models import Instalment, Receivable


@dataclass(frozen=True, slots=True)
class Overdue:
    since: date | None  # the earliest due date not met
    instalments: tuple[tuple[int, int, bool], ...]  # (seq, covered fen, overdue)

    def days(self, today: date) -> int:
        return 0 if self.since is None else (today - self.since).days


def overdue(row: Receivable, schedule: Sequence[Instalment], today: date) -> Overdue:
    """Payments cover instalments in order; an instalment not covered by its due date is
    overdue. Without a schedule the whole share is due on `due_on`. A share of a stay not
    discharged (a stage's, `due_on` None) is not due, whatever its schedule says. A share no
    longer owed (paid, or cancelled by a reversal) is not overdue, and its instalments show what
    the payments did cover: a cancelled one's unpaid instalments were never paid."""
    due = row.status == "open" and row.due_on is not None
    if not schedule:
        return Overdue(
            row.due_on if due and row.due_on is not None and row.due_on < today else None, ()
        )
    left, since, parts = row.paid_fen, None, []
    for part in schedule:
        covered = min(left, part.amount_fen)
        left -= covered
        late = due and covered < part.amount_fen and part.due_on < today
        if late and since is None:
            since = part.due_on
        parts.append((part.seq, covered, late))
    return Overdue(since, tuple(parts))
