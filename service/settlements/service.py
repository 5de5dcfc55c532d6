"""Preview, settle, reverse and read settlements.

A settlement is one transaction of three statements on PostgreSQL: read the admitted visit with
its settlements so far (a replay, or a visit still settled, is answered there), lock the
person's accumulators for the year in key order (one upsert that returns their values), run the
engine on the locked values, and write the settlement with the accumulators it moves and the
patient's share it leaves (one statement on PostgreSQL, ADR 0022); violations found are booked
in the same transaction, and the unit of work commits before the response is sent. A
settlement of the same visit that commits after the first read meets a unique constraint (HIS
id, or position in the visit's history), and the race is answered from what the winner stored.
The unit of work retries deadlocks and serialization failures (service/unit_of_work.py); every
statement is the store's (store.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from service.auth import Principal
from service.base import utcnow
from service.china_time import local_date, shown
from service.dates import DateWindow
from service.money import fen_to_yuan
from service.policy import SettlementResult, reverse_deltas
from service.policy.model import NO_PRIOR
from service.receivables import hooks as receivable_hooks
from service.receivables.hooks import SettledShare
from service.recorded import Recorded
from service.regions.directory import HospitalDirectory
from service.settlements import (
    cross_year,
    engine_run,
    findings,
    idempotency,
    prior,
    render,
    stages,
)
from service.settlements.accumulators import SETTLED_KEY, Scope, keys_for
from service.settlements.context import (
    Catalog,
    Context,
    admitted,
    from_stage_start,
    load_context,
)
from service.settlements.errors import (
    AlreadyReversed,
    LaterStageActive,
    PoliciesChanged,
    SettlementBusy,
    SettlementConflict,
    SettlementNotFound,
    StageOutOfOrder,
    StagesChanged,
    VisitAlreadySettled,
    VisitOfAnotherPerson,
)
from service.settlements.models import Settlement, SettlementReversal
from service.settlements.schemas import (
    ReversalCreate,
    SettlementCreate,
    SettlementPreviewCreate,
    SettlementPublic,
)
from service.settlements.visits import AdmittedVisit, Earlier
from service.unit_of_work import UnitOfWork
from service.violations.ledger import Finding


def _busy() -> SettlementBusy:
    return SettlementBusy("the person's accumulators stayed contended; retry with the same keys")


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
    fresh: bool = False,
) -> SettlementPublic:
    """`fresh`: the answer was rendered by this request, whose national fields are already the
    layers' (a stored one may predate a field: `stored_fund_fields` reads them from its layers,
    parsing the yuan strings again)."""
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
            **({} if fresh else render.stored_fund_fields(result)),
            "id": id,
            "status": "settled" if reversal is None else "reversed",
            "his_settlement_id": his_settlement_id,
            "created_at": created_at,
            "reversal": reversed_,
        }
    )


def _ruled(ctx: Context, year: int) -> Context:
    """The context as the plan year's own version sees it: an earlier year's part of a split
    stay is settled under that year's version (ADR 0018, addendum); any other, under the one
    chosen for the settlement."""
    rules = ctx.earlier.get(year)
    if rules is None:
        return ctx
    return replace(ctx, policy=rules.policy, visit=rules.visit, skip=rules.skip)


def _locked_keys(ctx: Context) -> set[str]:
    keys = keys_for(ctx.policy, ctx.visit, ctx.categories, ctx.skip)
    for rules in ctx.earlier.values():
        keys |= keys_for(rules.policy, rules.visit, ctx.categories, rules.skip)
    return keys


def _scope(ctx: Context, year: int) -> Scope:
    return Scope(ctx.person_key, ctx.insured_county, year)


def _part(ctx: Context, part: cross_year.YearBill) -> Context:
    counts = ctx.priors.get(part.year, NO_PRIOR)
    return replace(_ruled(ctx, part.year), bill=part.bill, given=dict(part.given), prior=counts)


async def _with_prior(uow: UnitOfWork, ctx: Context) -> Context:
    """The context with the patient's earlier admissions of each plan year it settles in
    (ADR 0019), if a version it settles under reads them: one more statement then, none
    otherwise. Called with the accumulators locked, so a settlement of the same person racing
    this one is either counted here or counts this one."""
    ruled = {part.year: _ruled(ctx, part.year) for part in ctx.parts}
    if not any(prior.needs_prior(c.policy, c.visit, c.categories) for c in ruled.values()):
        return ctx
    years = list(ruled)
    others = await uow.settlements.others_in_years(ctx.scope, years, admission_id=ctx.admission_id)
    priors = {
        part.year: prior.prior_of(
            others,
            year=part.year,
            hospital_code=ctx.hospital_code,
            discharged_on=part.last_day,
            monthly=prior.monthly_keys(
                ruled[part.year].policy, ruled[part.year].visit, ctx.categories
            ),
        )
        for part in ctx.parts
    }
    return replace(ctx, priors=priors, prior=priors[ctx.year])


def _last_part(ctx: Context) -> Context:
    return _part(ctx, ctx.parts[-1]) if len(ctx.parts) > 1 else ctx


def _run_parts(
    ctx: Context, years: list[dict[str, int]], earlier: list[stages.Paid]
) -> list[SettlementResult]:
    """The engine on each plan year's part with that year's accumulators (one part, usually);
    the first part continues ``earlier``, the stages before it in its year."""
    if len(ctx.parts) == 1:
        return [engine_run.run(ctx, years[0])]
    first = _part(ctx, ctx.parts[0])
    results = [_continued(first, years[0], earlier) if earlier else engine_run.run(first, years[0])]
    rest = zip(ctx.parts[1:], years[1:], strict=True)
    return results + [engine_run.run(_part(ctx, p), y) for p, y in rest]


def _continued(
    ctx: Context, locked: dict[str, int], earlier: list[stages.Paid]
) -> SettlementResult:
    """A year's part that continues the stay's earlier stages of that year: the stay so far on
    the accumulators before it, less what they paid (a per-admission deductible once)."""
    bill, given = stages.so_far(ctx.bill, ctx.given, earlier)
    so_far = replace(ctx, bill=bill, given=given)
    cumulative = engine_run.run(so_far, stages.baseline(locked, earlier))
    return stages.stage_of(cumulative, earlier, ctx.bill)


def _with_parts(
    rendered: dict[str, Any], ctx: Context, results: list[SettlementResult]
) -> dict[str, Any]:
    if len(ctx.parts) == 1:
        return rendered
    parts = [
        {
            "year": p.year,
            "first_day": p.first_day.isoformat(),
            "last_day": p.last_day.isoformat(),
            "days": p.days,
            "total": fen_to_yuan(r.total_fen),
            "funds": fen_to_yuan(r.funds_total_fen),
            "patient_pays": fen_to_yuan(r.patient_pays_fen),
            "in_policy": fen_to_yuan(p.bill.in_policy_fen),
            "patient_in_policy": fen_to_yuan(r.patient_in_policy_fen),
            "policy_version": _ruled(ctx, p.year).policy.version,
        }
        for p, r in zip(ctx.parts, results, strict=True)
    ]
    return {**rendered, "year_parts": parts}


async def preview(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    hospitals: HospitalDirectory,
    hospital_code: str,
    window: DateWindow,
    body: SettlementPreviewCreate,
    person_key: str | None = None,
) -> SettlementPublic:
    """预结算: what settling now would do. Reads the accumulators, stores nothing. A visit
    already settled (its final) would not be settled now: refused as the settlement is, rather
    than previewed as a second stay on accumulators that already hold it.
    `person_key`: the person the caller's message names, when it names one (_same_person)."""
    window.moment(body.discharged_at, field="discharged_at")
    visit = await uow.settlements.read_visit(hospital_code=hospital_code, visit_id=body.visit_id)
    _same_person(visit, person_key)
    if visit is not None:
        _refuse_if_settled(visit)
    ctx = await load_context(
        uow.session,
        catalog=catalog,
        hospitals=hospitals,
        admission=admitted(visit, visit_id=body.visit_id),
        body=body,
    )
    ctx, earlier, stage = await _stages_of(uow, ctx, admitted(visit, visit_id=body.visit_id))
    keys = _locked_keys(ctx) | {key for paid in earlier for key in paid.deltas}
    years = [
        await uow.settlements.read_accumulators(_scope(ctx, part.year), keys) for part in ctx.parts
    ]
    ctx = await _with_prior(uow, ctx)
    rendered = _compute(ctx, years, earlier, stage).rendered
    return SettlementPublic.model_validate(
        {
            **rendered,
            "id": None,
            "status": "preview",
            "his_settlement_id": None,
            "created_at": None,
            "violations_booked": None,  # findings, not booked: a preview stores nothing
        }
    )


async def create(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    hospitals: HospitalDirectory,
    hospital_code: str,
    window: DateWindow,
    body: SettlementCreate,
    person_key: str | None = None,
) -> Recorded[SettlementPublic]:
    """结算: settle and store, or replay the settlement stored under the same keys. A discharge
    outside the plausible window is refused first: it would open that year's accumulators.
    `person_key`: the person the caller's message names, when it names one (_same_person)."""
    window.moment(body.discharged_at, field="discharged_at")
    fingerprint = idempotency.request_hash(body)
    visit = await uow.settlements.read_visit(
        hospital_code=hospital_code, visit_id=body.visit_id, lock=True
    )
    _same_person(visit, person_key)  # a replay too: its answer would show the other person
    earlier = visit.earlier(body.his_settlement_id) if visit is not None else None
    if earlier is not None:
        return await _replay(uow, earlier, fingerprint)
    visit = admitted(visit, visit_id=body.visit_id)
    # Judged on the read, before the lock: a reversal committing meanwhile makes this a 409
    # the HIS may retry, never a second active settlement (the unique constraints see to that).
    _refuse_if_settled(visit)
    ctx = await load_context(
        uow.session, catalog=catalog, hospitals=hospitals, admission=visit, body=body
    )
    attempts = 0

    async def attempt() -> Recorded[SettlementPublic]:
        nonlocal attempts, ctx
        attempts += 1
        if attempts > 1:  # the rollback released the admission: hold it again, still admitted?
            admitted(
                await uow.settlements.read_visit(
                    hospital_code=hospital_code, visit_id=ctx.visit_id, lock=True
                ),
                visit_id=ctx.visit_id,
            )
        try:
            return await _settle(uow, ctx, visit, body, fingerprint)
        except _StaleList:
            pass
        # Chosen from a list another replica has changed since (ADR 0018, addendum "A
        # replica's stale list"). Nothing was written and the pool's versions stay held until
        # this transaction ends: settle again, here, under the set as stored.
        catalog.invalidate()
        ctx = await load_context(
            uow.session, catalog=catalog, hospitals=hospitals, admission=visit, body=body
        )
        try:
            return await _settle(uow, ctx, visit, body, fingerprint)
        except _StaleList:  # changed again in these milliseconds: elsewhere, or twice
            raise PoliciesChanged(
                "the policy versions were changed twice while this settlement was made; "
                "send it again",
                field="discharged_at",
            ) from None

    return await uow.run(
        attempt,
        busy=_busy,
        # A concurrent settlement of this visit committed first: answer from what it stored.
        on_duplicate=lambda: _after_race(uow, ctx, body, fingerprint),
    )


def _same_person(visit: AdmittedVisit | None, person_key: str | None) -> None:
    """NHSA's 2303/2304 carry the patient's credential and a FHIR Claim may name its patient;
    the visit id alone picks the stay. A HIS that picked the wrong stay (or typed another
    patient's visit id) would have the bill settled on that patient's accumulators and slip,
    as the platform refuses a person who is not the visit's. An unknown visit stays a 404."""
    if visit is not None and person_key is not None and visit.person_key != person_key:
        raise VisitOfAnotherPerson(
            f"visit {visit.visit_id} was admitted for another person than the one this "
            "message names; check the visit id and the patient",
            field="person",
        )


def _refuse_if_settled(visit: AdmittedVisit) -> None:
    latest = visit.latest
    if latest is not None and latest.active and not latest.mid_settlement:
        raise VisitAlreadySettled(
            f"visit {visit.visit_id} already has settlement {latest.id} "
            f"({latest.his_settlement_id}); reverse it before settling again",
            field="visit_id",
        )


async def _replay(
    uow: UnitOfWork, earlier: Earlier, fingerprint: str
) -> Recorded[SettlementPublic]:
    if earlier.request_hash != fingerprint:
        raise SettlementConflict(
            f"settlement {earlier.his_settlement_id} of visit {earlier.visit_id} was made with a "
            "different body; send a new his_settlement_id for a new settlement",
            field="his_settlement_id",
        )
    row = await uow.settlements.get(earlier.id)
    assert row is not None
    return Recorded(public(row, await uow.settlements.reversal_of(earlier.id)), replayed=True)


async def _after_race(
    uow: UnitOfWork, ctx: Context, body: SettlementCreate, fingerprint: str
) -> Recorded[SettlementPublic]:
    visit = await uow.settlements.read_visit(hospital_code=ctx.hospital_code, visit_id=ctx.visit_id)
    earlier = visit.earlier(body.his_settlement_id) if visit is not None else None
    if earlier is None:
        raise VisitAlreadySettled(
            f"visit {body.visit_id} was settled concurrently; reverse it first", field="visit_id"
        )
    return await _replay(uow, earlier, fingerprint)


async def _settle(
    uow: UnitOfWork,
    ctx: Context,
    visit: AdmittedVisit,
    body: SettlementCreate,
    fingerprint: str,
) -> Recorded[SettlementPublic]:
    ctx, earlier, stage = await _stages_of(uow, ctx, visit)
    # Plan years in ascending order, as every settlement and reversal locks them: no deadlock.
    keys = _locked_keys(ctx) | {key for paid in earlier for key in paid.deltas}
    years = [
        await uow.settlements.lock_accumulators(_scope(ctx, part.year), keys) for part in ctx.parts
    ]
    ctx = await _with_prior(uow, ctx)  # after the lock: what every earlier settlement committed
    if visit.stages:
        # A stage reversed meanwhile would leave this stage's arithmetic on a stale history.
        again = await uow.settlements.read_visit(
            hospital_code=ctx.hospital_code, visit_id=ctx.visit_id
        )
        if again is None or [e.id for e in again.stages] != [e.id for e in visit.stages]:
            raise StagesChanged(
                f"the stages of visit {ctx.visit_id} changed while settling; send it again",
                field="visit_id",
            )
    # A settlement of this visit that committed after `visit` was read takes the same visit_seq
    # (or the same HIS id): the store raises Duplicate and create() answers the race.
    done = _compute(ctx, years, earlier, stage)
    row = _settlement_row(ctx, visit, body, fingerprint, done.result, done.rendered)
    row["earlier_years"] = {str(y): dict(d) for y, _, d in done.moves} or None
    settlement_id = await uow.settlements.record(
        row,
        locked=years[-1],
        share=_patient_share(ctx, done.result),
        policies_seen=ctx.policies_seen,
    )
    if settlement_id is None:  # the first write: nothing is written before it
        raise _StaleList
    for y, locked, deltas in done.moves:
        await uow.settlements.move(_scope(ctx, y), locked, deltas)
    if visit.stages and not ctx.mid:  # the stay's discharge: its stages' shares fall due
        await receivable_hooks.on_discharged(
            uow,
            stage_settlement_ids=[e.id for e in visit.stages],
            discharged_at=ctx.discharged_at,
        )
    for booking in done.found:
        await uow.violations.book(_finding(ctx, settlement_id, booking))
    return Recorded(
        _public(
            row["result"],
            id=settlement_id,
            his_settlement_id=body.his_settlement_id,
            created_at=row["created_at"],
            fresh=True,
        ),
        replayed=False,
    )


class _StaleList(Exception):
    """The settlement's write found the stored policy versions changed since its catalogue
    chose (service/policy_versions/store.py CURRENT_SQL); it wrote nothing."""


@dataclass(frozen=True, slots=True)
class _Computed:
    result: SettlementResult
    rendered: dict[str, Any]
    found: list[findings.Booking]
    moves: list[tuple[int, dict[str, int], Mapping[str, int]]]  # earlier plan years' parts


async def _stages_of(
    uow: UnitOfWork, ctx: Context, visit: AdmittedVisit
) -> tuple[Context, list[stages.Paid], int]:
    """A later stage of a stay settled in stages: its context from the previous stage's end,
    the earlier stages of the plan year it starts in, which it continues, and its number (1:
    not staged)."""
    staged = visit.stages
    if not staged:
        return ctx, [], 1
    end = staged[-1].stage_end
    assert end is not None
    if ctx.discharged_at <= end:
        raise StageOutOfOrder(
            f"visit {ctx.visit_id} was settled up to {shown(end)} (stage {len(staged)}); "
            "this stage must end after that",
            field="discharged_at",
        )
    ctx = from_stage_start(ctx, local_date(end))
    earlier: list[stages.Paid] = []
    for e in staged:
        row = await uow.settlements.get(e.id)
        if row is None or row.year != ctx.parts[0].year:
            continue
        if row.result.get("year_parts"):
            # a stage split at a plan-year end: the stay so far in its last year is its part
            # there (one stored before parts were kept: the stages after it start afresh)
            part = row.result.get("stage_part")
            earlier = [] if part is None else [stages.paid_of(part, row.deltas)]
        elif "stage_bill" in row.result:
            earlier.append(stages.paid_of(row.result, row.deltas))
    return ctx, earlier, len(staged) + 1


def _compute(
    ctx: Context, years: list[dict[str, int]], earlier: list[stages.Paid], stage: int
) -> _Computed:
    """The engine on this settlement: a later stage as the stay so far less the earlier
    stages, a stay across a plan-year end part by part, anything else once. Controls judge the
    stay at its final settlement: a mid-settlement books no findings."""
    moves: list[tuple[int, dict[str, int], Mapping[str, int]]] = []
    if earlier and len(ctx.parts) == 1:
        base = stages.baseline(years[-1], earlier)
        bill, given = stages.so_far(ctx.bill, ctx.given, earlier)
        whole = replace(ctx, bill=bill, given=given)
        cumulative = engine_run.run(whole, base)
        result = stages.stage_of(cumulative, earlier, ctx.bill)
        results = [result]
        found = [] if ctx.mid else findings.bookings(whole, cumulative, base)
    else:
        results = _run_parts(ctx, years, earlier)
        result = cross_year.combine(results, ctx.bill)
        found = [] if ctx.mid else findings.bookings(_last_part(ctx), results[-1], years[-1])
        moves = [
            (part.year, locked, r.deltas)
            for part, locked, r in zip(ctx.parts[:-1], years, results, strict=False)
        ]
    rendered = {**_with_parts(render.render(ctx, result, found), ctx, results), **_facts(ctx)}
    if ctx.mid or stage > 1:
        rendered = {
            **rendered,
            "mid_setl_flag": "1" if ctx.mid else "0",
            "stage": stage,
            "stage_bill": stages.bill_record(ctx.bill, ctx.given),
        }
        if len(results) > 1:  # split at a plan-year end: the stage after it continues its last part
            last = ctx.parts[-1]
            rendered["stage_part"] = stages.part_record(results[-1], last.bill, last.given)
    return _Computed(result, rendered, found, moves)


def _facts(ctx: Context) -> dict[str, Any]:
    """What the engine was told beyond the columns, kept in the stored result so the what-if
    replays it (service/whatif): the designated disease, the pooling-region fact, and the bill
    lines with their categories ([item, fen, in_policy, category]; only when the bill had any)."""
    facts: dict[str, Any] = {
        "disease": ctx.visit.disease,
        "in_pooling_region": ctx.visit.in_pooling_region,
    }
    if ctx.bill.lines:
        facts["bill_lines"] = [
            [line.item, line.amount_fen, line.in_policy, line.category] for line in ctx.bill.lines
        ]
    return facts


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
        "mid_settlement": ctx.mid,
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


def _finding(ctx: Context, settlement_id: int, booking: findings.Booking) -> Finding:
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
        event_on=ctx.visit.discharged_on,
    )


async def _owned(uow: UnitOfWork, settlement_id: int, hospital_code: str) -> Settlement:
    row = await uow.settlements.get(settlement_id)
    if row is None or row.hospital_code != hospital_code:
        raise SettlementNotFound(f"no settlement {settlement_id} at your hospital")
    return row


def _same_parties(row: Settlement, *, visit_id: str | None, person_key: str | None) -> None:
    if visit_id is not None and row.visit_id != visit_id:
        raise SettlementNotFound(
            f"settlement {row.id} is not of visit {visit_id}", field="visit_id"
        )
    if person_key is not None and row.person_key != person_key:
        raise VisitOfAnotherPerson(
            f"settlement {row.id} was made for another person than the one this request "
            "names; check the settlement and the patient",
            field="person",
        )


async def reverse(
    uow: UnitOfWork,
    *,
    hospital_code: str,
    settlement_id: int,
    body: ReversalCreate,
    actor: str,
    visit_id: str | None = None,
    person_key: str | None = None,
) -> Recorded[SettlementPublic]:
    """冲销: a new record that gives every accumulator back what the settlement took. The same
    request again (the same reason and HIS reversal id, or neither has an id) is its replay: a
    settlement has one reversal, so the path and the body name it. `visit_id`, `person_key`:
    the visit and the person the caller's message names besides the settlement, when it names
    them (a FHIR Task's `encounter` and `for`); a settlement of another is not reversed."""

    async def work() -> Recorded[SettlementPublic]:
        row = await _owned(uow, settlement_id, hospital_code)
        _same_parties(row, visit_id=visit_id, person_key=person_key)
        earlier = [
            (Scope(row.person_key, row.pool, int(y)), deltas)
            for y, deltas in sorted((row.earlier_years or {}).items())
        ]
        # earlier plan years first, in the order a settlement locks them
        earlier_locked = [
            await uow.settlements.lock_accumulators(scope, deltas) for scope, deltas in earlier
        ]
        scope = Scope(row.person_key, row.pool, row.year)
        year = await uow.settlements.lock_accumulators(scope, row.deltas)
        existing = await uow.settlements.reversal_of(settlement_id)
        if existing is not None:
            if (existing.his_reversal_id, existing.reason) == (body.his_reversal_id, body.reason):
                return Recorded(public(row, existing), replayed=True)
            raise AlreadyReversed(
                f"settlement {settlement_id} was reversed by reversal {existing.id}"
            )
        # Read after the lock, as a new stage locks the same year's rows: the answer is final.
        visit = await uow.settlements.read_visit(hospital_code=hospital_code, visit_id=row.visit_id)
        later = [
            e
            for e in (visit.history if visit is not None else ())
            if e.active and e.visit_seq > row.visit_seq
        ]
        if later:
            raise LaterStageActive(
                f"settlement {later[-1].id} ({later[-1].his_settlement_id}) is a later stage of "
                f"visit {row.visit_id} and still settled; reverse the later stages first"
            )
        reversal = SettlementReversal(
            settlement_id=settlement_id,
            his_reversal_id=body.his_reversal_id,
            reason=body.reason,
            deltas=reverse_deltas(row.deltas),
            reversed_by=actor[:64],
        )
        for (earlier_scope, deltas), locked in zip(earlier, earlier_locked, strict=True):
            await uow.settlements.move(earlier_scope, locked, reverse_deltas(deltas))
        stored = await uow.settlements.book_reversal(reversal, scope=scope, locked=year)
        assert stored.id is not None
        await receivable_hooks.on_reversed(uow, settlement_id=settlement_id, reversal_id=stored.id)
        if visit is not None and not row.mid_settlement:  # the stay is open again
            await receivable_hooks.on_discharge_reversed(
                uow, stage_settlement_ids=[e.id for e in visit.stages], reversal_id=stored.id
            )
        return Recorded(public(row, reversal), replayed=False)

    # A concurrent reversal committed first: read it, as a replay of the same request or a 409.
    return await uow.run(work, busy=_busy, on_duplicate=work)


# The patient's share under pay-after-treatment (service/receivables): opened with the
# settlement (the store writes both, ADR 0022) and cancelled with its reversal, in the same
# transaction; nothing else here.
def _patient_share(ctx: Context, result: SettlementResult) -> dict[str, Any] | None:
    share = SettledShare(
        hospital_code=ctx.hospital_code,
        county_code=ctx.county_code,
        visit_id=ctx.visit_id,
        person_key=ctx.person_key,
        person_masked=ctx.person_masked,
        patient_pays_fen=result.patient_pays_fen,
        discharged_at=ctx.discharged_at,
        mid=ctx.mid,
    )
    return receivable_hooks.receivable_row(share, ctx.terms)


async def stored(
    uow: UnitOfWork, *, principal: Principal, settlement_id: int
) -> tuple[Settlement, SettlementReversal | None]:
    """The row and its reversal, if the principal may see it (else not found)."""
    row = await uow.settlements.get(settlement_id)
    if row is None or not principal.sees_hospital(row.hospital_code, row.county_code):
        raise SettlementNotFound(f"no settlement {settlement_id} that you may see")
    assert row.id is not None
    return row, await uow.settlements.reversal_of(row.id)


async def get(uow: UnitOfWork, *, principal: Principal, settlement_id: int) -> SettlementPublic:
    row, reversal = await stored(uow, principal=principal, settlement_id=settlement_id)
    return public(row, reversal)


async def list_for_visit(
    uow: UnitOfWork,
    *,
    principal: Principal,
    visit_id: str,
    hospital_code: str | None,
    limit: int,
) -> list[SettlementPublic]:
    """A visit's settlements, oldest first; a hospital sees its own only, an auditor its region."""
    stored_rows = await uow.settlements.list_for_visit(
        visit_id=visit_id, hospital_code=hospital_code, principal=principal, limit=limit
    )
    return [public(row, reversal) for row, reversal in stored_rows]
