"""What-if (政策测算): read a period's settlements, settle each again under the proposal with
the pure engine (service/policy/whatif.py) in a worker thread, and report. A stay is settled
under the policy that would be in force for its pool were the proposal adopted (`Adopted`: a
county's own version layered over a parent's proposal, the proposal itself elsewhere).
Nothing stored changes: the store only reads, and the engine's accumulators are the what-if's
own.

The year-end top-up is part of the cost: "now" is what a year-end run of the year would compute
(the version in force on the plan year's last day for each pool, service/yearend/years.py, over
the stored results, service/settlements/render.py `stored_result`, a split stay's stored parts
each in its own year, service/yearend/parts.py), beside what runs have booked so far;
"proposed" is the proposal's `year_end` entries over its own results (the parts it cuts each
in its own year). The later years' split stays a run reads are replayed for their part."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from anyio import to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Principal, Role
from service.auth.visibility import covers_region, prefix_of_region
from service.china_time import day_start, local_date
from service.errors import Forbidden
from service.indicators.service import RegionOutOfScope
from service.money import fen_to_yuan, yuan_to_fen
from service.policy import Bill, BillLine, CompiledPolicy, PolicyDocument, Visit, select_policy
from service.policy.plan_year import (
    part_version_day,
    plan_year_bounds,
    plan_year_of,
    rules_of,
    stage_start,
)
from service.policy.schema import PlanYear
from service.policy.whatif import (
    BUCKET_EDGES,
    FundLine,
    Part,
    Stay,
    WhatIfReport,
    YearEndLine,
    what_if,
)
from service.policy_versions.errors import NoPolicyInForce
from service.policy_versions.models import PolicyVersion
from service.policy_versions.service import check_document, list_versions, source_of
from service.policy_versions.timeline import Piece, Stored, compile_timeline
from service.regions.service import in_pooling_region
from service.settlements.context import INSURANCE_FUNDS, Catalog
from service.settlements.cross_year import YearBill, year_bills
from service.settlements.render import stored_result
from service.whatif.schemas import (
    FundPublic,
    PatientPublic,
    RatioPublic,
    WhatIfCreate,
    WhatIfPublic,
    YearEndPublic,
)
from service.whatif.store import SqlWhatIfStore
from service.yearend import years as plan_years
from service.yearend.parts import year_shares
from service.yearend.store import SqlYearEndStore


class WhatIfForbidden(Forbidden):
    code = "whatif_forbidden"


PROPOSED = "proposed"
"""The source name of the proposal among the stored versions it is compiled with."""


class Adopted:
    """The policies that would be in force were the proposal adopted: the stored versions with
    the proposal in its region's succession (its region's versions starting before it closed
    the day before it, those it would cover left out), compiled by date (ADR 0018), so that a
    county's own version is layered over a parent's proposal. A pool's policy is the one in
    force for it (the most specific region's, as a settlement selects it) on ``on``, a day of
    the proposal's window; the proposal's own region, and a pool under it without a version of
    its own, take the proposal (compiled over the parent in force on its first day)."""

    def __init__(self, proposal: CompiledPolicy, pieces: Sequence[Piece], *, on: date) -> None:
        self.proposal = proposal
        self.on = on
        self._every = pieces
        self._pieces = [p.policy for p in pieces if p.policy.in_force_on(on)]
        self._own = {id(p.policy) for p in pieces if p.sources[0] == PROPOSED}
        self._by_pool: dict[str, CompiledPolicy] = {}
        self._by_day: dict[date, Adopted] = {on: self}

    def __call__(self, pool: str) -> CompiledPolicy:
        found = self._by_pool.get(pool)
        if found is None:
            chosen = select_policy(self._pieces, insured_region=pool, on=self.on)
            found = self.proposal if chosen is None or id(chosen) in self._own else chosen
            self._by_pool[pool] = found
        return found

    def on_day(self, day: date) -> Adopted:
        """The policies in force on another day, the proposal adopted: an earlier plan year's,
        for the part of a split stay in that year and the stays it meets there (ADR 0018,
        addendum: each part under its own year's version)."""
        found = self._by_day.get(day)
        if found is None:
            found = self._by_day[day] = Adopted(self.proposal, self._every, on=day)
        return found

    def by_pool(self, pools: set[str]) -> dict[str, CompiledPolicy]:
        """The pools whose policy is not the proposal itself, with theirs."""
        return {pool: self(pool) for pool in sorted(pools) if self(pool) is not self.proposal}


def adopted_windows(
    stored: Sequence[PolicyVersion], document: PolicyDocument, text: str
) -> list[Stored]:
    """The stored versions as they would stand with the proposal (``document``, read from
    ``text``) loaded, as succession would leave them (ADR 0018): its region's versions starting
    before it closed by the day before it at the latest, those starting inside its window left
    out; the proposal itself under the source name ``PROPOSED``."""
    start, end = document.effective_from, document.effective_to
    out = []
    for version in stored:
        to = version.effective_to
        if version.region_code == document.region_code:
            if version.effective_from >= start and (end is None or version.effective_from <= end):
                continue
            if version.effective_from < start and (to is None or to >= start):
                to = start - timedelta(days=1)
        out.append(Stored(source_of(version), version.source_text, version.effective_from, to))
    out.append(Stored(PROPOSED, text, start, end))
    return out


async def adopted_policies(session: AsyncSession, text: str, *, over: int) -> Adopted:
    """The proposal, and the policies in force were it adopted, by pool, for plan year
    ``over``: on the plan year's last day (as the year-end run chooses its version, ADR 0021),
    or the proposal's first or last day when that day is outside its window."""
    document = check_document(text, source=PROPOSED)
    windows = adopted_windows(await list_versions(session), document, text)
    pieces = await to_thread.run_sync(compile_timeline, windows)
    proposal = next(
        piece.policy
        for piece in pieces
        if piece.sources[0] == PROPOSED and piece.policy.effective_from == document.effective_from
    )
    on = max(plan_year_bounds(rules_of(proposal), over)[1], document.effective_from)
    if document.effective_to is not None:
        on = min(on, document.effective_to)
    return Adopted(proposal, pieces, on=on)


async def proposed_policy(session: AsyncSession, text: str) -> CompiledPolicy:
    """The proposal compiled over its parents in force on its first day (`adopted_policies`)."""
    document = check_document(text, source=PROPOSED)
    return (await adopted_policies(session, text, over=document.effective_from.year)).proposal


def stay_of(row: Any, proposed: CompiledPolicy | None = None) -> Stay:
    """A stored settlement as the engine's input, with what it paid. Whether the hospital is in
    the patient's pooling region is decided again by the proposal's `pooling` level (a move to
    province-level pooling is a proposal a county prices); without a proposal, as stored."""
    result: Mapping[str, Any] = row.result
    total = int(row.total_fen)
    in_policy = yuan_to_fen(Decimal(result.get("inscp_scp_amt", fen_to_yuan(total))))
    paid: dict[str, int] = {}
    given: dict[str, int] = {}
    for layer in result.get("layers", []):
        fen = yuan_to_fen(Decimal(layer["amount"]))
        if fen:
            paid[layer["fund_type"]] = paid.get(layer["fund_type"], 0) + fen
        if layer.get("ratio") == "given" and layer.get("applied", True):
            given[layer["code"]] = fen
    admitted, discharged = local_date(row.admitted_at), local_date(row.discharged_at)
    visit = Visit(
        row.visit_type,
        row.level,
        row.tier,
        row.location,
        bool(row.referred),
        bool(row.designated),
        min(admitted, discharged),
        discharged,
        in_pooling_region=(
            result.get("in_pooling_region")
            if proposed is None
            else in_pooling_region(
                proposed,
                location=row.location,
                hospital_county=row.hospital_county,
                insured_county=row.pool,
            )
        ),
        disease=result.get("disease"),
    )
    return Stay(
        person_key=row.person_key,
        person_masked=row.person_masked,
        pool=row.pool,
        year=int(row.year),
        hospital_code=row.hospital_code,
        visit=visit,
        categories=frozenset(row.categories or ()),
        bill=Bill(total, in_policy, total - in_policy, _lines(result, total, in_policy)),
        given=given,
        keep_fund_types=None if row.settlement_mode == "one_stop" else INSURANCE_FUNDS,
        paid_now=paid,
        waived_now_fen=yuan_to_fen(Decimal(result.get("totals", {}).get("waived", "0"))),
        patient_now_fen=int(row.patient_pays_fen),
        # every stage of a stay settled in stages keeps its own bill (ADR 0018)
        admission=int(row.admission_id) if "stage_bill" in result else None,
    )


def _lines(result: Mapping[str, Any], total: int, in_policy: int) -> tuple[BillLine, ...]:
    """The stored bill lines with their categories (settlements since ADR 0019's wiring), if
    they are this row's bill: a stage or a year's part stores the lines of the stay so far,
    which do not add up to its own amounts, and is replayed without lines."""
    lines = tuple(
        BillLine(item, int(fen), bool(inside), category)
        for item, fen, inside, category in result.get("bill_lines") or ()
    )
    if (
        sum(line.amount_fen for line in lines) != total
        or sum(line.amount_fen for line in lines if line.in_policy) != in_policy
    ):
        return ()
    return lines


async def run_what_if(
    session: AsyncSession,
    catalog: Catalog,
    *,
    principal: Principal,
    body: WhatIfCreate,
    progress: Callable[[int], None] | None = None,
) -> WhatIfPublic:
    """Re-settle the year's settlements of the proposal's region under the proposal."""
    if principal.role is Role.HOSPITAL:
        raise WhatIfForbidden("what-if is for auditor and admin keys; yours is hospital")
    return await what_if_over(session, catalog, body=body, progress=progress, principal=principal)


async def what_if_over(
    session: AsyncSession,
    catalog: Catalog,
    *,
    body: WhatIfCreate,
    progress: Callable[[int], None] | None = None,
    principal: Principal | None = None,
) -> WhatIfPublic:
    """The what-if itself; ``principal`` None is the operator's CLI (every region)."""
    begun = time.perf_counter()
    adopted = await adopted_policies(session, body.source_text, over=body.over)
    policy = adopted.proposal
    region = policy.region_code
    prefix = prefix_of_region(region)
    if principal is not None and not covers_region(principal, prefix):
        raise RegionOutOfScope(f"region {region} is outside your scope", field="source_text")
    store = SqlWhatIfStore(session)
    rows = store.settlements(pool_prefix=prefix, year=body.over)
    read = [(int(row.id), stay_of(row, adopted(row.pool)), row.result) async for row in rows]
    later = await _later_parts(store, adopted, prefix, body.over)
    pools = {stay.pool for _, stay, _ in (*read, *later)}
    now = await year_end_now(session, catalog, pools, over=body.over)
    by_pool = adopted.by_pool(pools)
    priced = any(
        p is not None and p.document.year_end for p in (policy, *by_pool.values(), *now.values())
    )
    if priced:  # the later years' split stays bring their parts in the year to its top-up
        stays = [(i, year_end_now_of(stay, result)) for i, stay, result in (*read, *later)]
    else:
        stays = [(i, stay) for i, stay, _ in read]
    del read, later
    known = {i for i, _ in stays}
    stays += [
        pair
        for pair in await _next_year(store, adopted, prefix, body.over, pools, priced=priced)
        if pair[0] not in known
    ]
    stays = with_parts(adopted, stays, await _stage_ends(store, adopted, stays))
    stays += await _earlier_years(
        store, adopted, prefix, [s for _, s in stays if s.reported], priced=priced
    )
    stays.sort(key=lambda pair: pair[0])  # settlement order across the years read
    by_pool = adopted.by_pool({stay.pool for _, stay in stays})
    run = partial(
        what_if,
        [stay for _, stay in stays],
        policy,
        by_pool=by_pool,
        now_year_end=now,
        over=body.over,
        top=body.top,
        progress=progress,
    )
    report = await to_thread.run_sync(run)
    booked = await SqlYearEndStore(session).fund_totals(pool_prefix=prefix, plan_year=body.over)
    return public(
        report,
        region=region,
        over=body.over,
        seconds=time.perf_counter() - begun,
        booked=dict(booked),
    )


def with_parts(
    adopted: Adopted,
    stays: list[tuple[int, Stay]],
    stage_ends: Mapping[int, Sequence[tuple[int, date]]],
) -> list[tuple[int, Stay]]:
    """The stays (settlement id, stay, in settlement order) with their plan-year parts where the
    policy of their pool were the proposal adopted (``adopted``) splits them at a plan-year
    end (``cross_year: split``), cut as the live settlement cuts them, each earlier part under
    the version in force in its year as live (service/settlements/context.py `_earlier_years`)
    (service/settlements/cross_year.py; a later stage from the stage before's end,
    ``stage_ends``: each staged admission's stages, read whatever their year). The amounts by
    date a split may have used are not stored: parts are by bed days."""
    if not _splitting(adopted, {stay.pool for _, stay in stays}):
        return stays
    stays = sorted(stays, key=lambda pair: pair[0])
    out = []
    for i, stay in stays:
        policy = adopted(stay.pool)
        rules = rules_of(policy)
        if rules.cross_year != "split":
            out.append((i, stay))
            continue
        visit = stay.visit
        start = visit.admitted_on
        before = [
            end for settlement, end in stage_ends.get(stay.admission or 0, ()) if settlement < i
        ]
        if before:
            start = stage_start(rules, previous_end=before[-1], discharged_on=visit.discharged_on)
        if plan_year_of(rules, start) != plan_year_of(rules, visit.discharged_on):
            parts = year_bills(
                policy,
                bill=stay.bill,
                given=stay.given,
                admitted_on=start,
                discharged_on=visit.discharged_on,
            )
            if len(parts) > 1:
                cut = tuple(
                    Part(p.year, p.last_day, p.bill, p.given, _governing(adopted, stay, rules, p))
                    for p in parts[:-1]
                ) + (Part(parts[-1].year, parts[-1].last_day, parts[-1].bill, parts[-1].given),)
                stay = replace(stay, parts=cut)
        out.append((i, stay))
    return out


def _governing(
    adopted: Adopted, stay: Stay, rules: PlanYear, part: YearBill
) -> CompiledPolicy | None:
    """The version an earlier year's part is settled under, where it is not the stay's."""
    day = part_version_day(rules, first_day=part.first_day, last_day=part.last_day)
    policy = adopted.on_day(day)(stay.pool)
    return None if policy is adopted(stay.pool) else policy


def _splitting(policy_of: Callable[[str], CompiledPolicy], pools: set[str]) -> list[PlanYear]:
    """The plan-year rules that split a stay at a plan-year end, of the pools' policies."""
    found: dict[str, PlanYear] = {}
    for pool in sorted(pools):
        rules = rules_of(policy_of(pool))
        if rules.cross_year == "split":
            found.setdefault(rules.starts, rules)
    return list(found.values())


async def _stage_ends(
    store: SqlWhatIfStore, policy_of: Callable[[str], CompiledPolicy], stays: list[tuple[int, Stay]]
) -> dict[int, list[tuple[int, date]]]:
    """When the policy of a stay's pool splits: the ends (China days) of the stages of the
    staged stays read, an earlier year's included (a final of ``over`` whose stage before it
    ended the year before is cut from that stage's end, as it was settled)."""
    admissions = sorted(
        {
            s.admission
            for _, s in stays
            if s.admission is not None and rules_of(policy_of(s.pool)).cross_year == "split"
        }
    )
    ends = await store.stage_ends(admissions) if admissions else {}
    return {a: [(i, local_date(end)) for i, end in rows] for a, rows in ends.items()}


def year_end_now_of(stay: Stay, result: Mapping[str, Any]) -> Stay:
    """The stay with what the year-end top-up reads of it now, as a run reads it (ADR 0021):
    the patient's in-catalogue share as stored, and a split stay's stored parts, each counted
    in its own year (service/yearend/parts.py)."""
    return replace(
        stay,
        patient_in_policy_now_fen=stored_result(result).patient_in_policy_fen,
        now_parts=year_shares(result),
    )


async def _later_parts(
    store: SqlWhatIfStore, adopted: Adopted, prefix: str, over: int
) -> list[tuple[int, Stay, Mapping[str, Any]]]:
    """The stays of later plan years stored split with a part in an earlier year, admitted
    before ``over`` could have ended (as a year-end run of ``over`` reads them, ADR 0021):
    replayed, not reported, so that their part in ``over`` counts in its top-up, now as
    stored and proposed as the proposal cuts them."""
    rows = store.settlements(
        pool_prefix=prefix,
        year=over,
        later=True,
        admitted_before=day_start(date(over + 2, 1, 1)),
    )
    return [
        (int(row.id), replace(stay_of(row, adopted(row.pool)), reported=False), row.result)
        async for row in rows
    ]


async def _next_year(
    store: SqlWhatIfStore,
    adopted: Adopted,
    prefix: str,
    over: int,
    pools: set[str],
    *,
    priced: bool,
) -> list[tuple[int, Stay]]:
    """The stays, of the ``pools`` read, of the next plan year admitted before it began, where
    their pool's policy splits: their part in ``over`` moves ``over``'s accumulators (replayed,
    not reported; each stay is reported whole in its discharge year). ``priced`` (a year-end
    entry in play): of any pool (the proposal's own region's rules among those read), as their
    part in ``over`` counts in ``over``'s top-up as the proposal cuts it, whoever else the
    pool has in ``over``."""
    if priced:
        pools = pools | {adopted.proposal.region_code}
    splitting = _splitting(adopted, pools)
    if not splitting:
        return []
    begins = max(day_start(plan_year_bounds(rules, over + 1)[0]) for rules in splitting)
    rows = store.settlements(pool_prefix=prefix, year=over + 1, admitted_before=begins)
    out = []
    async for row in rows:
        rules = rules_of(adopted(row.pool))
        if (
            (priced or row.pool in pools)
            and rules.cross_year == "split"
            and row.admitted_at < day_start(plan_year_bounds(rules, over + 1)[0])
        ):
            stay = replace(stay_of(row, adopted(row.pool)), reported=False)
            out.append((int(row.id), year_end_now_of(stay, row.result) if priced else stay))
    return out


async def _earlier_years(
    store: SqlWhatIfStore, adopted: Adopted, prefix: str, stays: list[Stay], *, priced: bool
) -> list[tuple[int, Stay]]:
    """The settlements, in the earlier plan years a split stay reaches back into, of the people
    with such a stay: replayed (not reported) so each earlier part meets that year's
    accumulators, each under the version in force on that year's last day, the proposal
    adopted."""
    people: dict[int, set[str]] = {}
    for stay in stays:
        for part in stay.parts[:-1]:
            people.setdefault(part.year, set()).add(stay.person_key)
    out = []
    for year, persons in sorted(people.items()):
        rows = store.settlements(pool_prefix=prefix, year=year, persons=sorted(persons))
        async for row in rows:
            rules = rules_of(adopted(row.pool))
            then = adopted.on_day(plan_year_bounds(rules, year)[1])(row.pool)
            stay = stay_of(row, then)
            ruled = None if then is adopted(row.pool) else then
            stay = replace(stay, reported=False, policy=ruled)
            out.append((int(row.id), year_end_now_of(stay, row.result) if priced else stay))
    return out


async def year_end_now(
    session: AsyncSession, catalog: Catalog, pools: set[str], *, over: int
) -> dict[str, CompiledPolicy | None]:
    """By pool, the version a year-end run of ``over`` would apply (in force on the plan
    year's last day, ADR 0021); None where no version is in force then."""
    out: dict[str, CompiledPolicy | None] = {}
    for pool in sorted(pools):
        try:
            out[pool], _ = await plan_years.at_year_end(
                session, catalog, region=pool, plan_year=over
            )
        except NoPolicyInForce:
            out[pool] = None
    return out


def _bucket_names() -> list[str]:
    edges = [f"{Decimal(e).scaleb(-4):.2f}" for e in BUCKET_EDGES]
    return (
        [f"<{edges[0]}"]
        + [f"{a}-{b}" for a, b in zip(edges, edges[1:], strict=False)]
        + [f">={edges[-1]}"]
    )


def _compared(line: FundLine | YearEndLine) -> dict[str, str]:
    """Now, under the proposal and the difference, in yuan: a fund's and a year-end entry's."""
    y = fen_to_yuan
    return {
        "now": y(line.now_fen),
        "proposed": y(line.proposed_fen),
        "difference": y(line.difference_fen),
    }


def public(
    report: WhatIfReport,
    *,
    region: str,
    over: int,
    seconds: float,
    booked: Mapping[str, int] | None = None,
) -> WhatIfPublic:
    y = fen_to_yuan
    names = _bucket_names()
    booked = booked or {}
    return WhatIfPublic(
        region=region,
        over=over,
        policy_version=report.policy_version,
        policy_hash=report.policy_hash,
        settlements=report.settlements,
        funds=[FundPublic.model_validate(f._asdict() | _compared(f)) for f in report.funds],
        funds_now=y(report.funds_now_fen),
        funds_proposed=y(report.funds_proposed_fen),
        funds_difference=y(report.funds_proposed_fen - report.funds_now_fen),
        patient_now=y(report.patient_now_fen),
        patient_proposed=y(report.patient_proposed_fen),
        ratios=[
            RatioPublic.model_validate(r._asdict() | {"settlements": r.stays, "buckets": names})
            for r in report.ratios
        ],
        patients_rising=[
            PatientPublic(
                person_masked=p.person_masked,
                settlements=p.stays,
                patient_now=y(p.now_fen),
                patient_proposed=y(p.proposed_fen),
                rise=y(p.rise_fen),
            )
            for p in report.rising
        ],
        year_end=[
            YearEndPublic.model_validate(line._asdict() | _compared(line))
            for line in report.year_end
        ],
        year_end_booked={fund: y(fen) for fund, fen in sorted(booked.items())},
        seconds=round(seconds, 3),
    )
