"""Clearing test helpers: settlements and reversals written straight into the tables at
chosen times (the API stamps `now`), with per-layer amounts in `result` as settlement stores
them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from service.settlements.models import SettlementReversal
from service.settlements.money import yuan
from tests import factories


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 4, 0, tzinfo=UTC)


@dataclass
class Ledger:
    """Settles and reverses one admitted visit's history at the county hospital."""

    app: FastAPI
    admission: Any = None
    seq: int = 0

    async def settle(
        self,
        when: datetime,
        *,
        basic: int,
        critical: int = 0,
        patient: int = 100_00,
        hospital_code: str = factories.COUNTY_HOSPITAL,
        visit_id: str | None = None,
    ) -> int:
        async with self.app.state.sessionmaker() as s:
            if self.admission is None:
                self.admission = await factories.make_admission(s)
            self.seq += 1
            layers = [{"code": "basic_insurance", "fund_type": "basic_insurance",
                       "amount": yuan(basic)}]  # fmt: skip
            if critical:
                layers.append(
                    {
                        "code": "critical_illness",
                        "fund_type": "critical_illness",
                        "amount": yuan(critical),
                    }  # fmt: skip
                )
            funds = basic + critical
            row = factories.settlement(
                self.admission,
                visit_seq=self.seq,
                his_settlement_id=f"S{self.seq}",
                hospital_code=hospital_code,
                created_at=when,
                total_fen=funds + patient,
                funds_total_fen=funds,
                result={"layers": layers},
            )
            if visit_id is not None:
                row.visit_id = visit_id
            s.add(row)
            await s.commit()
            assert row.id is not None
            return row.id

    async def reverse(self, settlement_id: int, when: datetime) -> None:
        async with self.app.state.sessionmaker() as s:
            s.add(
                SettlementReversal(
                    settlement_id=settlement_id,
                    reason="test",
                    deltas={},
                    reversed_by="test",
                    created_at=when,
                )
            )
            await s.commit()
