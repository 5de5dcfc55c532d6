"""Everything a settlement needs before the year's accumulators are read: the admitted visit,
the hospital, the policy version chosen by the policy's own date rule (by default the discharge
date: service/settlements/plan_years.py), and the checked bill.

Built once per request as plain values, so a transaction retried after a deadlock does not
touch expired ORM objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from service.china_time import local_date, shown, today
from service.money import yuan_to_fen
from service.policy import (
    Bill,
    BillLine,
    CompiledPolicy,
    PriorAdmissions,
    Visit,
)
from service.policy.model import NO_PRIOR
from service.policy.plan_year import part_version_day, rules_of, stage_start
from service.policy.schema import PlanYear
from service.policy_versions.store import Generation
from service.receivables.terms import Terms, terms_for
from service.regions.directory import HospitalDirectory
from service.regions.service import in_pooling_region
from service.settlements.accumulators import Scope
from service.settlements.cross_year import YearBill, year_bills
from service.settlements.errors import (
    DischargeBeforeAdmission,
    InvalidBill,
    InvalidExternalAmounts,
    UnknownBillCategory,
    UnknownDisease,
    VisitNotAdmitted,
    VisitNotFound,
)
from service.settlements.plan_years import choose_policy
from service.settlements.schemas import BillCreate, SettlementPreviewCreate
from service.settlements.visits import AdmittedVisit

INSURANCE_FUNDS = frozenset({"basic_insurance", "critical_illness"})
"""The layers an insurance-only settlement (医保单独结算) keeps; every other layer is skipped."""


class Catalog(Protocol):
    async def for_region(
        self, session: AsyncSession, *, insured_region: str, on: date
    ) -> CompiledPolicy: ...

    async def by_hash(self, session: AsyncSession, content_hash: str) -> CompiledPolicy | None: ...

    async def generation(self, session: AsyncSession) -> Generation: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OutOfPolicy:
    full_self_pay_fen: int
    over_limit_fen: int
    pre_self_pay_fen: int


@dataclass(frozen=True, slots=True)
class YearRules:
    """What governs the part of a split stay in an earlier plan year: the version in force in
    that year (ADR 0018, addendum), the visit and the skipped layers as that version sees them."""

    policy: CompiledPolicy
    visit: Visit
    skip: frozenset[str]


@dataclass(frozen=True, slots=True)
class Context:
    hospital_code: str
    county_code: str
    admission_id: int
    visit_id: str
    person_key: str
    person_masked: str
    insured_county: str
    admitted_at: datetime
    discharged_at: datetime
    visit: Visit
    categories: frozenset[str]
    policy: CompiledPolicy
    bill: Bill
    out_of_policy: OutOfPolicy
    mode: str
    skip: frozenset[str]
    given: dict[str, int]
    year: int  # the policy's plan year of the discharge date (service/policy/plan_year.py)
    parts: tuple[YearBill, ...]  # one per plan year the bill is settled in, in date order
    by_date: tuple[tuple[date, int, int], ...]  # the bill's (day, in_policy, out_of_policy) fen
    mid: bool  # a mid-settlement (中途结算): a stage, not the last
    # The stored set of versions the catalogue chose from: the write checks it is still the
    # stored one (ADR 0018, addendum "A replica's stale list").
    policies_seen: Generation
    # The earlier admissions of the plan year (service/settlements/prior.py), read with the
    # accumulators locked: `prior` for the engine run at hand, `priors` by plan year.
    prior: PriorAdmissions = NO_PRIOR
    priors: Mapping[int, PriorAdmissions] = field(default_factory=dict)
    # A stay split at a plan-year end: each earlier plan year's rules, by year (the discharge
    # year's are `policy`, `visit` and `skip` above).
    earlier: Mapping[int, YearRules] = field(default_factory=dict)
    # The terms the patient's share is owed on after treatment (service/receivables), or None:
    # paid at the desk.
    terms: Terms | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.person_key, self.insured_county, self.year)


def admitted(visit: AdmittedVisit | None, *, visit_id: str) -> AdmittedVisit:
    """The visit, if the calling hospital admitted it and it is still admitted."""
    if visit is None:
        raise VisitNotFound(f"no admitted visit {visit_id} at your hospital", field="visit_id")
    if visit.state != "admitted":
        raise VisitNotAdmitted(f"visit {visit_id} is {visit.state}, not admitted", field="visit_id")
    return visit


def checked_bill(bill: BillCreate) -> tuple[Bill, OutOfPolicy]:
    """The bill in fen, or a 422 naming the part that does not add up."""
    total, inside, outside = (
        yuan_to_fen(bill.total),
        yuan_to_fen(bill.in_policy),
        yuan_to_fen(bill.out_of_policy),
    )
    if inside + outside != total:
        raise InvalidBill(
            f"in_policy {bill.in_policy} + out_of_policy {bill.out_of_policy} "
            f"is not the total {bill.total}",
            field="bill.total",
        )
    parts = OutOfPolicy(outside, 0, 0)
    if bill.out_of_policy_breakdown is not None:
        b = bill.out_of_policy_breakdown
        parts = OutOfPolicy(
            yuan_to_fen(b.full_self_pay),
            yuan_to_fen(b.over_limit_self_pay),
            yuan_to_fen(b.pre_self_pay),
        )
        if sum((parts.full_self_pay_fen, parts.over_limit_fen, parts.pre_self_pay_fen)) != outside:
            raise InvalidBill(
                "the out-of-policy breakdown does not add up to out_of_policy",
                field="bill.out_of_policy_breakdown",
            )
    if bill.by_date and (
        sum(yuan_to_fen(d.in_policy) for d in bill.by_date) != inside
        or sum(yuan_to_fen(d.out_of_policy) for d in bill.by_date) != outside
    ):
        raise InvalidBill(
            "the amounts by date do not add up to in_policy and out_of_policy",
            field="bill.by_date",
        )
    lines = tuple(
        BillLine(line.item, yuan_to_fen(line.amount), line.in_policy, line.category)
        for line in bill.lines
    )
    if lines:
        if sum(line.amount_fen for line in lines) != total:
            raise InvalidBill("the bill lines do not add up to the total", field="bill.lines")
        if sum(line.amount_fen for line in lines if line.in_policy) != inside:
            raise InvalidBill(
                "the in-policy bill lines do not add up to in_policy", field="bill.lines"
            )
    return Bill(total, inside, outside, lines), parts


def _known_facts(policy: CompiledPolicy, body: SettlementPreviewCreate) -> None:
    """Bill categories and the designated disease must be words of the chosen policy's
    vocabulary (`bill_categories`, `diseases`): a misspelt one would settle as ordinary."""
    known = policy.document.bill_categories
    for i, line in enumerate(body.bill.lines):
        if line.category is not None and line.category not in known:
            words = ", ".join(sorted(known)) or "none"
            raise UnknownBillCategory(
                f"bill line {i} has category {line.category!r}; policy {policy.version} knows "
                f"{words} (leave category out for an ordinary line)",
                field=f"bill.lines.{i}.category",
            )
    diseases = policy.document.diseases
    if body.disease is not None and body.disease not in diseases:
        raise UnknownDisease(
            f"disease {body.disease!r} is not one policy {policy.version} knows "
            f"({', '.join(sorted(diseases)) or 'none'})",
            field="disease",
        )


def _skip(
    policy: CompiledPolicy, visit: Visit, categories: frozenset[str], mode: str
) -> frozenset[str]:
    if mode == "one_stop":
        return frozenset()
    return frozenset(
        p.code for p in policy.plan(visit, categories) if p.fund_type not in INSURANCE_FUNDS
    )


def _given(
    policy: CompiledPolicy,
    visit: Visit,
    categories: frozenset[str],
    skip: frozenset[str],
    amounts: dict[str, int],
) -> dict[str, int]:
    plans = policy.plan(visit, categories)
    external = {p.code for p in plans if p.kind == "external"}
    for code in amounts:
        if code not in external:
            raise InvalidExternalAmounts(
                f"{code} is not a layer settled elsewhere in policy {policy.version}",
                field=f"external_amounts.{code}",
            )
    for p in plans:
        if p.kind == "external" and p.applies and p.code not in skip and p.code not in amounts:
            raise InvalidExternalAmounts(
                f"policy {policy.version} has {p.code} settled elsewhere: send its amount",
                field=f"external_amounts.{p.code}",
            )
    return amounts


async def load_context(
    session: AsyncSession,
    *,
    catalog: Catalog,
    hospitals: HospitalDirectory,
    admission: AdmittedVisit,
    body: SettlementPreviewCreate,
) -> Context:
    bill, parts = checked_bill(body.bill)
    seen = await catalog.generation(session)  # before any choice: a set newer reads as stale
    if body.discharged_at < admission.admitted_at:
        raise DischargeBeforeAdmission(
            f"discharged_at {shown(body.discharged_at)} is before the admission at "
            f"{shown(admission.admitted_at)}",
            field="discharged_at",
        )
    hospital = await hospitals.get(session, admission.hospital_code)
    discharged_on = local_date(body.discharged_at)
    admitted_on = local_date(admission.admitted_at)
    policy = await choose_policy(
        session,
        catalog,
        insured_region=admission.insured_county,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        settled_on=today(),
    )
    _known_facts(policy, body)
    visit = Visit(
        visit_type=admission.visit_type,
        hospital_level=hospital.level,
        hospital_tier=hospital.tier,
        location=admission.location,
        referred=admission.referred,
        designated=hospital.designated,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        in_pooling_region=_in_pooling_region(policy, admission, hospital.county_code),
        disease=body.disease,
    )
    categories = admission.categories
    skip = _skip(policy, visit, categories, body.settlement_mode)
    amounts = {code: yuan_to_fen(value) for code, value in body.external_amounts.items()}
    given = _given(policy, visit, categories, skip, amounts)
    outside_stay = [d.on for d in body.bill.by_date if not admitted_on <= d.on <= discharged_on]
    if outside_stay:
        raise InvalidBill(
            f"bill.by_date has {outside_stay[0]}, outside the stay", field="bill.by_date"
        )
    by_date = tuple(
        (d.on, yuan_to_fen(d.in_policy), yuan_to_fen(d.out_of_policy)) for d in body.bill.by_date
    )
    years = year_bills(
        policy,
        bill=bill,
        given=given,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        by_date=by_date,
    )
    earlier = await _earlier_years(
        session,
        catalog,
        admission,
        visit,
        years,
        rules=rules_of(policy),
        hospital_county=hospital.county_code,
        mode=body.settlement_mode,
    )
    terms = terms_for(policy, visit=visit, categories=categories)
    if terms is None:
        terms = await _terms_promised(session, catalog, admission, visit)
    return Context(
        hospital_code=admission.hospital_code,
        county_code=admission.county_code,
        admission_id=admission.id,
        visit_id=admission.visit_id,
        person_key=admission.person_key,
        person_masked=admission.person_masked,
        insured_county=admission.insured_county,
        admitted_at=admission.admitted_at,
        discharged_at=body.discharged_at.astimezone(UTC),
        visit=visit,
        categories=categories,
        policy=policy,
        bill=bill,
        out_of_policy=parts,
        mode=body.settlement_mode,
        skip=skip,
        given=given,
        year=years[-1].year,
        parts=tuple(years),
        by_date=by_date,
        mid=body.mid_settlement,
        policies_seen=seen,
        earlier=earlier,
        terms=terms,
    )


async def _terms_promised(
    session: AsyncSession, catalog: Catalog, admission: AdmittedVisit, visit: Visit
) -> Terms | None:
    """The terms of the version the admission was judged under, when it told the desk to take
    no deposit (eligible for pay-after-treatment) and the settlement's version would not: a
    version that narrowed pay-after-treatment meanwhile (a new year's) does not turn the
    promise into a share nobody tracks (ADR 0014, amendment)."""
    if not admission.eligible or admission.policy_hash is None:
        return None
    admitted_under = await catalog.by_hash(session, admission.policy_hash)
    if admitted_under is None:
        return None
    return terms_for(admitted_under, visit=visit, categories=admission.categories)


def _in_pooling_region(
    policy: CompiledPolicy, admission: AdmittedVisit, hospital_county: str
) -> bool:
    """Whether the hospital is in the patient's pooling region, as ``policy`` pools."""
    return in_pooling_region(
        policy,
        location=admission.location,
        hospital_county=hospital_county,
        insured_county=admission.insured_county,
    )


async def _earlier_years(
    session: AsyncSession,
    catalog: Catalog,
    admission: AdmittedVisit,
    visit: Visit,
    parts: list[YearBill],
    *,
    rules: PlanYear,
    hospital_county: str,
    mode: str,
) -> dict[int, YearRules]:
    """What governs each earlier plan year's part of a split stay: the version in force in that
    year, on the day the chosen version's date rule picks inside the part (its last day, or its
    first under ``version_date: admission``). None in force that day is a 422, as for any
    settlement: the office loads that year's version."""
    out = {}
    for part in parts[:-1]:
        day = part_version_day(rules, first_day=part.first_day, last_day=part.last_day)
        governing = await catalog.for_region(
            session, insured_region=admission.insured_county, on=day
        )
        seen = replace(
            visit, in_pooling_region=_in_pooling_region(governing, admission, hospital_county)
        )
        out[part.year] = YearRules(
            governing, seen, _skip(governing, seen, admission.categories, mode)
        )
    return out


def from_stage_start(ctx: Context, start: date) -> Context:
    """The context of a later stage: its plan-year parts run from the previous stage's end
    (``start``), or from the next plan year when that stage closed its year (bed days only:
    the bill's amounts by date say themselves which year each day is)."""
    if not ctx.by_date:
        start = stage_start(
            rules_of(ctx.policy), previous_end=start, discharged_on=ctx.visit.discharged_on
        )
    years = year_bills(
        ctx.policy,
        bill=ctx.bill,
        given=ctx.given,
        admitted_on=start,
        discharged_on=ctx.visit.discharged_on,
        by_date=ctx.by_date,
    )
    return replace(ctx, parts=tuple(years), year=years[-1].year)
