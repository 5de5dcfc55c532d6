"""Preview, settle, reverse and read settlements.

A settlement is one transaction of four statements: read the admitted visit with its
settlements so far (a replay, or a visit still settled, is answered there), lock the person's
accumulators for the year in key order (one upsert that returns their values), run the engine
on the locked values, and write the settlement with the accumulators it moves (one statement on
PostgreSQL); violations found are booked in the same transaction, and the session dependency
commits before the response is sent. A settlement of the same visit that commits after the
first read meets a unique constraint (HIS id, or position in the visit's history), and the race
is answered from what the winner stored. Deadlocks and serialization failures are retried a
few times with jittered backoff.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.base import utcnow
from service.policy import SettlementResult, reverse_deltas
from service.receivables import hooks as receivable_hooks
from service.receivables.hooks import SettledShare
from service.receivables.terms import terms_for
from service.regions.directory import HospitalDirectory
from service.settlements import accumulators, compute, idempotency
from service.settlements.accumulators import SETTLED_KEY, Scope, keys_for
from service.settlements.context import Catalog, Context, admitted, load_context
from service.settlements.errors import (
    AlreadyReversed,
    SettlementBusy,
    SettlementConflict,
    SettlementNotFound,
    VisitAlreadySettled,
)
from service.settlements.models import Settlement, SettlementReversal
from service.settlements.record import record
from service.settlements.schemas import (
    ReversalCreate,
    SettlementCreate,
    SettlementPreviewIn,
    SettlementPublic,
)
from service.settlements.visits import AdmittedVisit, Earlier, read_visit
from service.violations.ledger import Finding, book_violation

T = TypeVar("T")

RETRY_ATTEMPTS = 6
RETRY_BASE_SECONDS = 0.01
_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


@dataclass(frozen=True, slots=True)
class Outcome:
    settlement: SettlementPublic
    replayed: bool


async def with_retries(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in the session's transaction; on a deadlock or serialization failure roll
    back and run it again, at most RETRY_ATTEMPTS times."""
    for attempt in range(RETRY_ATTEMPTS):
        try:
            return await work()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
                raise
            await session.rollback()
            if attempt == RETRY_ATTEMPTS - 1:
                raise SettlementBusy(
                    "the person's accumulators stayed contended; retry with the same keys",
                    headers={"Retry-After": "1"},
                ) from exc
            await asyncio.sleep(random.uniform(0, RETRY_BASE_SECONDS * 2**attempt))
    raise AssertionError("unreachable")


def public(row: Settlement, reversal: SettlementReversal | None = None) -> SettlementPublic:
    return _public(
        row.result,
        id=row.id,
        his_settlement_id=row.his_settlement_id,
        created_at=row.created_at,
        reversal=reversal,
    )


def _public(
    result: dict[str, Any],
    *,
    id: int | None,
    his_settlement_id: str,
    created_at: datetime,
    reversal: SettlementReversal | None = None,
) -> SettlementPublic:
    reversed_ = None
    if reversal is not None:
        reversed_ = {
            "id": reversal.id,
            "his_reversal_id": reversal.his_reversal_id,
            "reason": reversal.reason,
            "reversed_by": reversal.reversed_by,
            "created_at": reversal.created_at,
        }
    return SettlementPublic.model_validate(
        {
            **result,
            "id": id,
            "status": "settled" if reversal is None else "reversed",
            "his_settlement_id": his_settlement_id,
            "created_at": created_at,
            "reversal": reversed_,
        }
    )


def _locked_keys(ctx: Context) -> set[str]:
    return keys_for(ctx.policy, ctx.visit, ctx.categories, ctx.skip)


async def preview(
    session: AsyncSession,
    *,
    catalog: Catalog,
    hospitals: HospitalDirectory,
    hospital_code: str,
    body: SettlementPreviewIn,
) -> SettlementPublic:
    """预结算: what settling now would do. Reads the accumulators, stores nothing."""
    visit = await _read_visit(session, hospital_code=hospital_code, visit_id=body.visit_id)
    ctx = await load_context(
        session,
        catalog=catalog,
        hospitals=hospitals,
        admission=admitted(visit, visit_id=body.visit_id),
        body=body,
    )
    year = await accumulators.read(await session.connection(), ctx.scope, _locked_keys(ctx))
    result = compute.run(ctx, year)
    rendered = compute.render(ctx, result, compute.bookings(ctx, result, year))
    return SettlementPublic.model_validate(
        {**rendered, "id": None, "status": "preview", "his_settlement_id": None, "created_at": None}
    )


async def create(
    session: AsyncSession,
    *,
    catalog: Catalog,
    hospitals: HospitalDirectory,
    hospital_code: str,
    body: SettlementCreate,
) -> Outcome:
    """结算: settle and store, or replay the settlement stored under the same keys."""
    fingerprint = idempotency.request_hash(body)
    visit = await _read_visit(session, hospital_code=hospital_code, visit_id=body.visit_id)
    earlier = visit.earlier(body.his_settlement_id) if visit is not None else None
    if earlier is not None:
        return await _replay(session, earlier, fingerprint)
    visit = admitted(visit, visit_id=body.visit_id)
    # Judged on the read, before the lock: a reversal committing meanwhile makes this a 409
    # the HIS may retry, never a second active settlement (the unique constraints see to that).
    _refuse_if_settled(visit)
    ctx = await load_context(
        session, catalog=catalog, hospitals=hospitals, admission=visit, body=body
    )
    try:
        return await with_retries(session, lambda: _settle(session, ctx, visit, body, fingerprint))
    except IntegrityError:
        # A concurrent settlement of this visit committed first: answer from what it stored.
        await session.rollback()
        return await _after_race(session, ctx, body, fingerprint)


def _refuse_if_settled(visit: AdmittedVisit) -> None:
    latest = visit.latest
    if latest is not None and latest.active:
        raise VisitAlreadySettled(
            f"visit {visit.visit_id} already has settlement {latest.id} "
            f"({latest.his_settlement_id}); reverse it before settling again",
            field="visit_id",
        )


async def _read_visit(
    session: AsyncSession, *, hospital_code: str, visit_id: str
) -> AdmittedVisit | None:
    conn = await session.connection()
    return await read_visit(conn, hospital_code=hospital_code, visit_id=visit_id)


async def _replay(session: AsyncSession, earlier: Earlier, fingerprint: str) -> Outcome:
    if earlier.request_hash != fingerprint:
        raise SettlementConflict(
            f"settlement {earlier.his_settlement_id} of visit {earlier.visit_id} was made with a "
            "different body; send a new his_settlement_id for a new settlement",
            field="his_settlement_id",
        )
    row = await session.get(Settlement, earlier.id)
    assert row is not None
    return Outcome(public(row, await _reversal_of(session, earlier.id)), replayed=True)


async def _after_race(
    session: AsyncSession, ctx: Context, body: SettlementCreate, fingerprint: str
) -> Outcome:
    visit = await _read_visit(session, hospital_code=ctx.hospital_code, visit_id=ctx.visit_id)
    earlier = visit.earlier(body.his_settlement_id) if visit is not None else None
    if earlier is None:
        raise VisitAlreadySettled(
            f"visit {body.visit_id} was settled concurrently; reverse it first", field="visit_id"
        )
    return await _replay(session, earlier, fingerprint)


async def _settle(
    session: AsyncSession,
    ctx: Context,
    visit: AdmittedVisit,
    body: SettlementCreate,
    fingerprint: str,
) -> Outcome:
    conn = await session.connection()  # once per attempt: a retry's rollback gives it back
    year = await accumulators.lock(conn, ctx.scope, _locked_keys(ctx))
    # A settlement of this visit that committed after `visit` was read takes the same visit_seq
    # (or the same HIS id): the unique constraints refuse this one and create() answers the race.
    result = compute.run(ctx, year)
    found = compute.bookings(ctx, result, year)
    row = _settlement_row(ctx, visit, body, fingerprint, result, compute.render(ctx, result, found))
    settlement_id = await record(conn, row, locked=year)
    for booking in found:
        await book_violation(session, _finding(ctx, settlement_id, booking))
    await _open_receivable(session, ctx, settlement_id, result)
    return Outcome(
        _public(
            row["result"],
            id=settlement_id,
            his_settlement_id=body.his_settlement_id,
            created_at=row["created_at"],
        ),
        replayed=False,
    )


def _settlement_row(
    ctx: Context,
    visit: AdmittedVisit,
    body: SettlementCreate,
    fingerprint: str,
    result: SettlementResult,
    rendered: dict[str, Any],
) -> dict[str, Any]:
    """The settlement's columns; it is written once and never changed."""
    return {
        "hospital_code": ctx.hospital_code,
        "county_code": ctx.county_code,
        "visit_id": ctx.visit_id,
        "visit_seq": visit.next_seq,
        "admission_id": ctx.admission_id,
        "his_settlement_id": body.his_settlement_id,
        "request_hash": fingerprint,
        "person_key": ctx.person_key,
        "person_masked": ctx.person_masked,
        "pool": ctx.insured_county,
        "year": ctx.scope.year,
        "settlement_mode": ctx.mode,
        "admitted_at": ctx.admitted_at,
        "discharged_at": ctx.discharged_at,
        "total_fen": result.total_fen,
        "funds_total_fen": result.funds_total_fen,
        "patient_pays_fen": result.patient_pays_fen,
        "policy_region": ctx.policy.region_code,
        "policy_version": ctx.policy.version,
        "policy_hash": ctx.policy.content_hash,
        "deltas": {**result.deltas, SETTLED_KEY: 1},
        "result": rendered,
        "created_at": utcnow(),
    }


def _finding(ctx: Context, settlement_id: int, booking: compute.Booking) -> Finding:
    return Finding(
        rule_code=booking.rule_code,
        hospital_code=ctx.hospital_code,
        county_code=ctx.county_code,
        source="settlement",
        source_ref=str(settlement_id),
        evidence={**booking.evidence, "settlement_id": settlement_id, "year": ctx.scope.year},
        points=booking.points,
        visit_id=ctx.visit_id,
        person_key=ctx.person_key,
        person_masked=ctx.person_masked,
        policy_hash=ctx.policy.content_hash,
    )


async def _reversal_of(session: AsyncSession, settlement_id: int) -> SettlementReversal | None:
    result = await session.exec(
        select(SettlementReversal).where(SettlementReversal.settlement_id == settlement_id)
    )
    return result.first()


async def _owned(session: AsyncSession, settlement_id: int, hospital_code: str) -> Settlement:
    row = await session.get(Settlement, settlement_id, populate_existing=True)
    if row is None or row.hospital_code != hospital_code:
        raise SettlementNotFound(f"no settlement {settlement_id} at your hospital")
    return row


async def reverse(
    session: AsyncSession,
    *,
    hospital_code: str,
    settlement_id: int,
    body: ReversalCreate,
    actor: str,
) -> SettlementPublic:
    """冲销: a new record that gives every accumulator back what the settlement took."""

    async def work() -> SettlementPublic:
        row = await _owned(session, settlement_id, hospital_code)
        scope = Scope(row.person_key, row.pool, row.year)
        conn = await session.connection()
        year = await accumulators.lock(conn, scope, row.deltas)
        existing = await _reversal_of(session, settlement_id)
        if existing is not None:
            same = body.his_reversal_id is not None and (
                (existing.his_reversal_id, existing.reason) == (body.his_reversal_id, body.reason)
            )
            if same:
                return public(row, existing)
            raise AlreadyReversed(
                f"settlement {settlement_id} was reversed by reversal {existing.id}"
            )
        deltas = reverse_deltas(row.deltas)
        reversal = SettlementReversal(
            settlement_id=settlement_id,
            his_reversal_id=body.his_reversal_id,
            reason=body.reason,
            deltas=deltas,
            reversed_by=actor[:64],
        )
        session.add(reversal)
        await session.flush()
        await accumulators.add(conn, scope, year, deltas)
        assert reversal.id is not None
        await receivable_hooks.on_reversed(
            session, settlement_id=settlement_id, reversal_id=reversal.id
        )
        return public(row, reversal)

    try:
        return await with_retries(session, work)
    except IntegrityError:
        await session.rollback()
        raise AlreadyReversed(f"settlement {settlement_id} was reversed concurrently") from None


# The patient's share under pay-after-treatment (service/receivables): opened with the
# settlement and cancelled with its reversal, in the same transaction; nothing else here.
async def _open_receivable(
    session: AsyncSession, ctx: Context, settlement_id: int, result: SettlementResult
) -> None:
    share = SettledShare(
        settlement_id=settlement_id,
        hospital_code=ctx.hospital_code,
        county_code=ctx.county_code,
        visit_id=ctx.visit_id,
        person_key=ctx.person_key,
        person_masked=ctx.person_masked,
        patient_pays_fen=result.patient_pays_fen,
        discharged_at=ctx.discharged_at,
    )
    terms = terms_for(ctx.policy, visit=ctx.visit, categories=ctx.categories)
    await receivable_hooks.on_settled(session, share=share, terms=terms)


def _visible(principal: Principal, row: Settlement) -> bool:
    return principal.sees_hospital(row.hospital_code, row.county_code)


async def stored(
    session: AsyncSession, *, principal: Principal, settlement_id: int
) -> tuple[Settlement, SettlementReversal | None]:
    """The row and its reversal, if the principal may see it (else not found)."""
    row = await session.get(Settlement, settlement_id)
    if row is None or not _visible(principal, row):
        raise SettlementNotFound(f"no settlement {settlement_id} that you may see")
    assert row.id is not None
    return row, await _reversal_of(session, row.id)


async def get(
    session: AsyncSession, *, principal: Principal, settlement_id: int
) -> SettlementPublic:
    row, reversal = await stored(session, principal=principal, settlement_id=settlement_id)
    return public(row, reversal)


async def list_for_visit(
    session: AsyncSession,
    *,
    principal: Principal,
    visit_id: str,
    hospital_code: str | None,
    limit: int,
) -> list[SettlementPublic]:
    """A visit's settlements, oldest first; a hospital sees its own only, an auditor its region."""
    query = (
        select(Settlement, SettlementReversal)
        .outerjoin(SettlementReversal, col(SettlementReversal.settlement_id) == col(Settlement.id))
        .where(Settlement.visit_id == visit_id)
    )
    if principal.role is Role.HOSPITAL:
        query = query.where(Settlement.hospital_code == principal.hospital_code)
    elif hospital_code is not None:
        query = query.where(Settlement.hospital_code == hospital_code)
    if principal.role is Role.AUDITOR:
        prefix = principal.region_prefix or "\x00"
        query = query.where(col(Settlement.county_code).startswith(prefix))
    result = await session.exec(query.order_by(col(Settlement.id)).limit(limit))
    return [public(row, reversal) for row, reversal in result.all()]
