"""Where the what-if reads the stored settlements of a period: every active (not reversed)
settlement of people insured under a region in a year, with the admission and hospital facts
the engine needs, in the order they were made. Read-only; one streamed statement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.auth.visibility import region_conditions
from service.base import table_of
from service.regions.models import Hospital
from service.settlements.models import Settlement, SettlementReversal

_S = table_of(Settlement)
_A = table_of(Admission)
_H = table_of(Hospital)
_R = table_of(SettlementReversal)

_CHUNK = 500  # person keys per statement when reading chosen people

_COLUMNS = (
    _S.c.id,
    _S.c.admission_id,
    _S.c.person_key,
    _S.c.person_masked,
    _S.c.pool,
    _S.c.year,
    _S.c.hospital_code,
    _S.c.settlement_mode,
    _S.c.admitted_at,
    _S.c.discharged_at,
    _S.c.total_fen,
    _S.c.patient_pays_fen,
    _S.c.result,
    _A.c.visit_type,
    _A.c.location,
    _A.c.referred,
    _A.c.categories,
    _H.c.level,
    _H.c.tier,
    _H.c.designated,
    _H.c.county_code.label("hospital_county"),
)


class SqlWhatIfStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settlements(
        self,
        *,
        pool_prefix: str,
        year: int,
        batch: int = 2_000,
        persons: Sequence[str] | None = None,
        admitted_before: datetime | None = None,
        later: bool = False,
    ) -> AsyncIterator[sa.Row[Any]]:
        """The period's active settlements under the region, oldest first. For a split stay's
        other years: with ``persons``, only theirs (in chunks, each oldest first); with
        ``admitted_before``, only stays admitted before that instant; with ``later``, only
        stays split at a plan-year end (with a part in an earlier year) of the plan years after
        ``year`` instead of ``year``'s."""
        conditions = [
            _R.c.id.is_(None),
            *region_conditions(_S.c.pool, pool_prefix),
        ]
        if later:  # a JSON null (no earlier year) reads as the text null on either database
            conditions += [_S.c.year > year, sa.cast(_S.c.earlier_years, sa.Text) != "null"]
        else:
            conditions.append(_S.c.year == year)
        if admitted_before is not None:
            conditions.append(_S.c.admitted_at < admitted_before)
        if persons is None:
            async for row in self._read(conditions, batch):
                yield row
            return
        for at in range(0, len(persons), _CHUNK):
            chunk = _S.c.person_key.in_(persons[at : at + _CHUNK])
            async for row in self._read([*conditions, chunk], batch):
                yield row

    async def stage_ends(self, admissions: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
        """Every active settlement of these admissions (the stages of stays settled in stages,
        whatever their year): admission -> [(settlement id, end of the stage)], oldest first."""
        out: dict[int, list[tuple[int, datetime]]] = {}
        for at in range(0, len(admissions), _CHUNK):
            statement = (
                select(
                    col(Settlement.admission_id), col(Settlement.id), col(Settlement.discharged_at)
                )
                .outerjoin(
                    SettlementReversal,
                    col(SettlementReversal.settlement_id) == col(Settlement.id),
                )
                .where(
                    col(SettlementReversal.id).is_(None),
                    col(Settlement.admission_id).in_(admissions[at : at + _CHUNK]),
                )
                .order_by(col(Settlement.id))
            )
            for admission, settlement, end in (await self.session.exec(statement)).all():
                out.setdefault(int(admission), []).append((int(settlement or 0), end))
        return out

    async def _read(
        self, conditions: list[sa.ColumnElement[bool]], batch: int
    ) -> AsyncIterator[sa.Row[Any]]:
        statement = (
            sa.select(*_COLUMNS)
            .select_from(
                _S.join(_A, _A.c.id == _S.c.admission_id)
                .join(_H, _H.c.code == _S.c.hospital_code)
                .outerjoin(_R, _R.c.settlement_id == _S.c.id)
            )
            .where(*conditions)
            .order_by(_S.c.id)
            .execution_options(yield_per=batch)
        )
        result = await self.session.stream(statement)
        async for row in result:
            yield row
