"""The total of a ledger query: exact when counting is cheap, otherwise a floor that says so.

A count stops at TOTAL_CAP matches, but when the filters match few rows that no index narrows
(say three common values together over a whole province) it still reads every row in scope.
So on PostgreSQL the count gets a time budget; past it the total is reported as a floor,
"more than this page", and the page is never held up by its own total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.violations.models import Violation

TOTAL_CAP = 10_000
# A first page must answer within 50 ms at p99; the page itself takes a few.
COUNT_BUDGET_MS = 20
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout


@dataclass(frozen=True, slots=True)
class Total:
    """`count` rows match when `exact`; otherwise more than `count` rows match."""

    count: int
    exact: bool


async def count_capped(session: AsyncSession, conditions: list[Any], cap: int) -> int:
    """Matching rows, counting no further than cap + 1."""
    inner = select(col(Violation.id)).where(*conditions).limit(cap + 1).subquery()
    result = await session.exec(select(sa.func.count()).select_from(inner))
    return int(result.one())


async def total_of(
    session: AsyncSession, conditions: list[Any], *, shown: int, whole: bool
) -> Total:
    """The total for a page that shows `shown` rows (`whole`: the only page there is)."""
    if whole:
        return Total(shown, exact=True)
    counted = await _count_within_budget(session, conditions)
    if counted is None:
        return Total(shown, exact=False)
    return Total(min(counted, TOTAL_CAP), exact=counted <= TOTAL_CAP)


async def _count_within_budget(session: AsyncSession, conditions: list[Any]) -> int | None:
    """The capped count, or None when it would take longer than COUNT_BUDGET_MS (PostgreSQL).

    The savepoint is rolled back either way: that undoes SET LOCAL, so the rest of the
    transaction keeps its own statement timeout, and a cancelled count does not abort it.
    Each pair of statements is sent as one string (no parameters, so one round trip).
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return await count_capped(session, conditions, TOTAL_CAP)
    await session.exec(  # type: ignore[call-overload]
        sa.text(f"SAVEPOINT ledger_total; SET LOCAL statement_timeout = {int(COUNT_BUDGET_MS)}")
    )
    try:
        counted: int | None = await count_capped(session, conditions, TOTAL_CAP)
    except OperationalError as e:
        if getattr(e.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
        counted = None
    await session.exec(  # type: ignore[call-overload]
        sa.text("ROLLBACK TO SAVEPOINT ledger_total; RELEASE SAVEPOINT ledger_total")
    )
    return counted
