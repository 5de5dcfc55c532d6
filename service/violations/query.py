"""Reading the ledger: filtered, keyset-paged lists and one violation with its history.

Pages are keyed on (detected_at, id), so any page costs one index range scan however deep it
is. A page is found in two steps: the ids of its rows, then the rows. Every ledger index
carries the filtered columns, so the first step reads an index only, however many rows the
filters pass over; only the page's own rows are read from the table. The total is in total.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal
from service.auth.visibility import visible_to
from service.base import MAX_ROW_ID
from service.violations.errors import BadCursor, ViolationNotFound
from service.violations.models import Violation, ViolationTransition, violations_table
from service.violations.scope import ViolationFilter, scope_conditions
from service.violations.total import total_of

Sort = Literal["desc", "asc"]


ViolationRow = sa.Row[Any]
"""A ledger row as plain columns (attribute access like the model): a page of rows costs no
ORM identity map or object per row, which was most of a first page's time."""


@dataclass(frozen=True, slots=True)
class Page:
    items: list[ViolationRow]
    total: int
    total_exact: bool
    next_cursor: str | None


def encode_cursor(v: ViolationRow, sort: Sort) -> str:
    raw = json.dumps({"t": v.detected_at.isoformat(), "i": v.id, "s": sort})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[datetime, int]:
    """The (detected_at, id) after which a page starts. A cursor is the caller's text: one
    made by hand with an instant that has no UTC form (0001-01-01T00:00+14:00) failed in the
    statement's bind with a 500, and an id of any JSON type was read with int()."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        at, vid, its_sort = datetime.fromisoformat(data["t"]), data["i"], data["s"]
        if at.tzinfo is not None:
            at = at.astimezone(UTC)  # what the bind does; OverflowError outside its range
    except (
        binascii.Error,
        ValueError,
        KeyError,
        TypeError,
        UnicodeDecodeError,
        OverflowError,
    ) as e:
        raise BadCursor("the cursor is not one this service issued", field="cursor") from e
    if type(vid) is not int or not 0 < vid <= MAX_ROW_ID:
        raise BadCursor("the cursor is not one this service issued", field="cursor")
    if at.tzinfo is None or its_sort != sort:
        raise BadCursor("the cursor belongs to another sort order", field="cursor")
    return at, vid


def _ordered(stmt: Any, sort: Sort) -> Any:
    if sort == "asc":
        return stmt.order_by(col(Violation.detected_at).asc(), col(Violation.id).asc())
    return stmt.order_by(col(Violation.detected_at).desc(), col(Violation.id).desc())


def _page_rows(conditions: list[Any], sort: Sort, size: int) -> Any:
    """The page's rows, picked by id first so that picking them reads an index only."""
    ids = _ordered(select(col(Violation.id)).where(*conditions), sort).limit(size).correlate(None)
    rows = sa.select(violations_table).where(violations_table.c.id.in_(ids.scalar_subquery()))
    return _ordered(rows, sort)


def _after(cursor: tuple[datetime, int], sort: Sort) -> Any:
    key = sa.tuple_(col(Violation.detected_at), col(Violation.id))
    bound = sa.tuple_(
        sa.literal(cursor[0], type_=violations_table.c.detected_at.type),
        sa.literal(cursor[1], type_=sa.BigInteger),
    )
    return key > bound if sort == "asc" else key < bound


async def list_violations(
    session: AsyncSession,
    *,
    principal: Principal,
    wanted: ViolationFilter,
    page_size: int,
    sort: Sort = "desc",
    cursor: str | None = None,
) -> Page:
    if cursor:
        decode_cursor(cursor, sort)  # a bad cursor is a 422 even when the scope is empty
    page = await _batch(session, principal, wanted, sort, cursor, page_size)
    conditions = scope_conditions(principal, wanted)
    if conditions is None:
        return page
    whole = cursor is None and page.next_cursor is None
    total = await total_of(session, conditions, shown=len(page.items), whole=whole)
    return Page(page.items, total.count, total.exact, page.next_cursor)


async def iter_violations(
    session: AsyncSession,
    *,
    principal: Principal,
    wanted: ViolationFilter,
    sort: Sort = "desc",
    batch: int = 1000,
    limit: int = 1_000_000,
) -> AsyncIterator[ViolationRow]:
    """Every matching violation, a keyset batch at a time (for exports)."""
    cursor: str | None = None
    sent = 0
    while sent < limit:
        page = await _batch(session, principal, wanted, sort, cursor, min(batch, limit - sent))
        for v in page.items:
            yield v
        sent += len(page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def _batch(
    session: AsyncSession,
    principal: Principal,
    wanted: ViolationFilter,
    sort: Sort,
    cursor: str | None,
    size: int,
) -> Page:
    conditions = scope_conditions(principal, wanted)
    if conditions is None:
        return Page([], 0, True, None)
    if cursor is not None:
        conditions = [*conditions, _after(decode_cursor(cursor, sort), sort)]
    rows = list((await session.exec(_page_rows(conditions, sort, size + 1))).all())
    more = len(rows) > size
    return Page(rows[:size], 0, False, encode_cursor(rows[size - 1], sort) if more else None)


async def get_violation(
    session: AsyncSession, *, principal: Principal, violation_id: int
) -> Violation:
    """The violation if this caller may see it; otherwise 404, as if it did not exist."""
    if not 0 < violation_id <= MAX_ROW_ID:
        raise ViolationNotFound(f"no violation {violation_id}")
    seen = visible_to(
        principal,
        hospital_code=col(Violation.hospital_code),
        county_code=col(Violation.county_code),
    )
    stmt = select(Violation).where(col(Violation.id) == violation_id, *seen)
    violation = (await session.exec(stmt)).first()
    if violation is None:
        raise ViolationNotFound(f"no violation {violation_id}")
    return violation


async def history(session: AsyncSession, violation_id: int) -> list[ViolationTransition]:
    stmt = (
        select(ViolationTransition)
        .where(ViolationTransition.violation_id == violation_id)
        .order_by(col(ViolationTransition.chain_seq))
    )
    return list((await session.exec(stmt)).all())
