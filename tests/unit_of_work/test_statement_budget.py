"""The hot paths keep ADR 0008's statement budget through the unit of work and the stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from service.admissions.schemas import AdmissionCreate
from service.admissions.service import admit
from service.dates import DateWindow
from service.registry.schemas import CategorySpan, FamilyDoctor, PersonRecord
from service.settlements import service as settlements
from service.settlements.schemas import BillCreate, SettlementCreate
from service.unit_of_work import unit_of_work
from tests import factories
from tests.fakes.collaborators import MemoryRegistry, admission_context
from tests.unit_of_work.machine import ADMITTED_AT, DISCHARGED_AT, HOSPITAL


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _count)


def _admission(visit_id: str, resident: str) -> AdmissionCreate:
    return AdmissionCreate(
        visit_id=visit_id,
        id_number=resident,
        name="张三",
        admitted_at=ADMITTED_AT,
        visit_type="inpatient",
        insured_county=factories.COUNTY,
    )


def _settlement(visit_id: str, his: str) -> SettlementCreate:
    bill = BillCreate(total=Decimal("800"), in_policy=Decimal("800"), out_of_policy=Decimal("0"))
    return SettlementCreate(
        visit_id=visit_id, his_settlement_id=his, discharged_at=DISCHARGED_AT, bill=bill
    )


async def test_admission_and_settlement_statements(app: FastAPI) -> None:
    registry = MemoryRegistry()
    resident = factories.resident_id(seq=7)
    registry.people[resident] = PersonRecord(
        insured_county=factories.COUNTY,
        categories=(CategorySpan(code="registered_poor", valid_from=date(2016, 1, 1)),),
        family_doctor=FamilyDoctor(contracted=True, valid_to=date(2030, 12, 31)),
    )
    ctx = admission_context(
        registry=registry,
        catalog=app.state.policies,
        hospitals=app.state.hospitals,
        hasher=app.state.id_hasher,
    )
    maker = app.state.sessionmaker

    async def run_admit(visit_id: str) -> None:
        async with unit_of_work(maker) as uow:
            await admit(
                uow, ctx=ctx, hospital_code=HOSPITAL, actor="t", body=_admission(visit_id, resident)
            )

    async def run_settle(visit_id: str) -> list[str]:
        async with unit_of_work(maker) as uow:
            outcome = await settlements.create(
                uow,
                catalog=app.state.policies,
                hospitals=app.state.hospitals,
                hospital_code=HOSPITAL,
                window=ctx.window,
                body=_settlement(visit_id, "S1"),
            )
        return outcome.entry.violations_booked

    await run_admit("WARM")  # the catalog and the hospital directory read once, then cached
    await run_settle("WARM")
    with statements(app) as admitted:
        await run_admit("B1")
    # the defaulter mark of an eligible patient (ADR 0014), insert-once with the answer, and the
    # event: on PostgreSQL one statement (ADR 0022), on SQLite three
    postgres = app.state.engine.dialect.name == "postgresql"
    assert len(admitted) == (1 if postgres else 3), admitted
    assert "defaulter_marks" in admitted[0]
    assert "INSERT INTO admission_events" in admitted[-1]
    with statements(app) as settled:
        booked = await run_settle("B1")
    assert booked == []
    # This patient is under pay-after-treatment with a share left: the settlement opens a
    # receivable (ADR 0014). Read the visit, lock-upsert the accumulators, then on PostgreSQL
    # one statement that inserts the settlement, moves the accumulators and opens the share
    # (ADR 0022); SQLite has no data-modifying WITH and takes the three writes one by one.
    assert sum("INSERT INTO receivables" in x for x in settled) == 1, settled
    if postgres:
        assert len(settled) == 3, settled
        assert all(f"INSERT INTO {t}" in settled[-1] for t in ("settlements", "receivables"))
        assert "UPDATE accumulators" in settled[-1]
    else:
        assert len(settled) == 5, settled
    # Against a stale policy list (ADR 0018, addendum "A replica's stale list"): the lock holds
    # the pool's versions (PostgreSQL) and the settlement's INSERT checks they are the set the
    # catalogue chose from, each inside a statement it had already.
    assert "INSERT INTO accumulators" in settled[1]
    assert ("pg_advisory_xact_lock_shared" in settled[1]) is postgres
    assert "INSERT INTO settlements" in settled[-1 if postgres else 2]
    assert "policy_version_events" in settled[-1 if postgres else 2]


async def test_a_policy_counting_earlier_admissions_reads_them_in_one_statement(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """ADR 0019: a deductible that depends on the earlier admissions of the plan year (here
    `later_admissions`) costs one statement more, the read of those admissions under the
    accumulator lock (service/settlements/prior.py). Policies without such a mode (above) read
    nothing more."""
    answer = await client.post(
        "/v1/policies", json={"source_text": factories.wired_policy()}, headers=admin_headers
    )
    assert answer.status_code == 201, answer.text
    async with app.state.sessionmaker() as s:
        for visit_id in ("P1", "P2"):
            await factories.make_admission(s, visit_id=visit_id, hospital_code=HOSPITAL)
    maker = app.state.sessionmaker

    async def run_settle(visit_id: str) -> str:
        async with unit_of_work(maker) as uow:
            outcome = await settlements.create(
                uow,
                catalog=app.state.policies,
                hospitals=app.state.hospitals,
                hospital_code=HOSPITAL,
                window=DateWindow(date(2016, 1, 1), timedelta(seconds=300)),
                body=_settlement(visit_id, "S1"),
            )
        return outcome.entry.layers[0].deductible_used

    # the first admission: the whole bill of 800 lies under the deductible of 1000 (and warms
    # the catalog and the hospital directory); the second: half the deductible, 500
    assert await run_settle("P1") == "800.00"
    with statements(app) as settled:
        assert await run_settle("P2") == "500.00"
    postgres = app.state.engine.dialect.name == "postgresql"
    # read the visit, lock-upsert, read the earlier admissions, then the writes: on PostgreSQL
    # one statement (the settlement, the accumulators, the patient's share if one is left),
    # on SQLite one each
    receivable = sum("INSERT INTO receivables" in x for x in settled)
    assert receivable <= 1, settled
    assert len(settled) == (4 if postgres else 5 + receivable), settled


async def test_a_stays_discharge_costs_two_statements_for_its_stages_shares(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """ADR 0025: a stage's share is opened without a due date (no statement more); the stay's
    final settlement reads the stages' shares waiting for it and dates them (two statements,
    on stays settled in stages only); an ordinary settlement touches neither."""
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(
            s, visit_id="STAGED", admitted_at=factories.at(2024, 3, 1)
        )
        single = await factories.make_admission(s, visit_id="SINGLE")

    def body(visit_id: str, his: str, day: int, *, mid: bool) -> dict[str, Any]:
        end = f"2024-03-{day:02d}T10:00:00+08:00"
        return factories.settlement_request(
            visit_id, his=his, discharged_at=end, mid_settlement=mid
        )

    def dating(seen: list[str]) -> list[str]:
        return [x for x in seen if "receivables" in x and "INSERT" not in x]

    await factories.settle(client, hospital_headers, body(visit.visit_id, "ST1", 10, mid=True))
    with statements(app) as stage:
        await factories.settle(client, hospital_headers, body(visit.visit_id, "ST2", 20, mid=True))
    with statements(app) as final:
        await factories.settle(client, hospital_headers, body(visit.visit_id, "ST3", 30, mid=False))
    with statements(app) as once:
        await factories.settle(client, hospital_headers, body(single.visit_id, "S1", 10, mid=False))
    assert dating(stage) == dating(once) == []
    [read, dated] = dating(final)
    assert read.lstrip().startswith("SELECT"), read
    assert "due_on IS NULL" in read, read
    assert dated.lstrip().startswith("UPDATE receivables SET discharged_at"), dated
