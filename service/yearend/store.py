"""All of the year-end's SQL: what was booked for a region's plan year, booking a row, and the
region directory it checks. Services reach it as `uow.yearend` and are written against the
`YearEndStore` protocol. The year's settlements are read with the what-if's statement
(service/whatif/store.py: active settlements under a region in a plan year, oldest first).

A run is a cold path (once a year per region): the ORM. A booking meets the unique key
(person, pool, plan year, entry, seq) when another run booked that position first;
`unless_duplicate` turns it into `service.db.Duplicate` and the whole run is rerun.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.visibility import region_conditions
from service.db import unless_duplicate
from service.regions.models import Region
from service.settlements.models import Settlement
from service.yearend.models import YearEndPayment


@dataclass(frozen=True, slots=True)
class Booked:
    """What the rows of one person, pool and entry add up to so far."""

    person_key: str
    pool: str
    code: str
    person_masked: str
    name: str
    fund_type: str
    total_fen: int
    last_seq: int


class YearEndStore(Protocol):
    async def region_exists(self, region_code: str) -> bool: ...

    async def holds_stays(self, *, pool_prefix: str, admitted_before: datetime) -> bool: ...

    async def booked(self, *, pool_prefix: str, plan_year: int) -> list[Booked]: ...

    async def book(self, rows: Sequence[YearEndPayment]) -> None: ...

    async def payments(
        self, *, pool_prefix: str, plan_year: int, after_id: int, limit: int
    ) -> Sequence[YearEndPayment]: ...

    async def fund_totals(self, *, pool_prefix: str, plan_year: int) -> list[tuple[str, int]]: ...


def _scope(pool_prefix: str, plan_year: int) -> list[Any]:
    return [
        col(YearEndPayment.plan_year) == plan_year,
        *region_conditions(col(YearEndPayment.pool), pool_prefix),
    ]


class SqlYearEndStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def region_exists(self, region_code: str) -> bool:
        return await self.session.get(Region, region_code) is not None

    async def holds_stays(self, *, pool_prefix: str, admitted_before: datetime) -> bool:
        """Whether any settlement under the region (reversed ones too) is of a stay admitted
        before the instant: whether the service holds anything of the years up to it."""
        statement = (
            select(col(Settlement.id))
            .where(
                *region_conditions(col(Settlement.pool), pool_prefix),
                col(Settlement.admitted_at) < admitted_before,
            )
            .limit(1)
        )
        return (await self.session.exec(statement)).first() is not None

    async def booked(self, *, pool_prefix: str, plan_year: int) -> list[Booked]:
        p = YearEndPayment
        keys = (col(p.person_key), col(p.pool), col(p.code))
        statement = (
            select(  # type: ignore[call-overload]
                *keys,
                sa.func.max(col(p.person_masked)),
                sa.func.max(col(p.name)),
                sa.func.max(col(p.fund_type)),
                sa.func.sum(col(p.amount_fen)),
                sa.func.max(col(p.seq)),
            )
            .where(*_scope(pool_prefix, plan_year))
            .group_by(*keys)
        )
        rows = (await self.session.exec(statement)).all()
        return [
            Booked(key, pool, code, masked, name, fund, int(total), int(seq))
            for key, pool, code, masked, name, fund, total, seq in rows
        ]

    async def book(self, rows: Sequence[YearEndPayment]) -> None:
        """Add the run's rows in one flush; `Duplicate` (and none added) if another run booked
        any of their positions first."""
        async with unless_duplicate(self.session):
            self.session.add_all(rows)
            await self.session.flush()

    async def payments(
        self, *, pool_prefix: str, plan_year: int, after_id: int, limit: int
    ) -> Sequence[YearEndPayment]:
        statement = (
            select(YearEndPayment)
            .where(*_scope(pool_prefix, plan_year), col(YearEndPayment.id) > after_id)
            .order_by(col(YearEndPayment.id))
            .limit(limit)
        )
        return (await self.session.exec(statement)).all()

    async def fund_totals(self, *, pool_prefix: str, plan_year: int) -> list[tuple[str, int]]:
        fund = col(YearEndPayment.fund_type)
        statement = (
            select(fund, sa.func.sum(col(YearEndPayment.amount_fen)))
            .where(*_scope(pool_prefix, plan_year))
            .group_by(fund)
            .order_by(fund)
        )
        return [(name, int(total)) for name, total in (await self.session.exec(statement)).all()]
