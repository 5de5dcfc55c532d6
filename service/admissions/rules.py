"""What the admission desk is told, and what goes to the ledger: a pure function of the
person's status, the policy in force and the visit. No I/O here.

Findings are booked only for a person the registry or the snapshot knows; an `unknown` status
yields no finding and no "not eligible" — only what the policy lets the desk do until the status
is confirmed. A snapshot can confirm cover, never its absence (ADR 0011): a snapshot record with
no covered category on the day is `unknown` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from service.china_time import local_date
from service.money import fen_to_yuan
from service.persons.person_status import PersonStatus, Source
from service.policy import (
    CompiledPolicy,
    Visit,
    deposit_when_unknown,
    is_covered,
    pay_after_treatment,
)
from service.registry.schemas import CategorySpan, PersonRecord

# Pairs of categories one person cannot hold on the same day (REGISTRY_INCONSISTENT):
# 特困 and 低保 are exclusive by law; 建档立卡 became 脱贫 in 2021; 边缘易致贫户 are by
# definition not (formerly) poor; 低保边缘 means not in 低保 or 特困.
CONTRADICTING = (
    ("destitute", "minimum_living"),
    ("lifted_out", "registered_poor"),
    ("monitored_edge", "registered_poor"),
    ("lifted_out", "monitored_edge"),
    ("low_income_edge", "minimum_living"),
    ("destitute", "low_income_edge"),
)


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning for the desk; with `rule` set it is also a ledger finding."""

    code: str
    message: str
    rule: str | None = None
    evidence: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    categories: tuple[CategorySpan, ...]
    covered: bool | None
    eligible: bool | None
    reasons: tuple[str, ...]
    deposit_allowed_fen: int | None  # None: no limit
    notices: tuple[Notice, ...]
    deposit_basis: str = "not_eligible"  # eligible | not_eligible | status_unknown
    deposit_explanation: str = ""

    @property
    def findings(self) -> tuple[Notice, ...]:
        return tuple(n for n in self.notices if n.rule is not None)


def assess(
    *,
    status: PersonStatus,
    policy: CompiledPolicy,
    visit: Visit,
    reported_county: str,
    deposit_intended_fen: int,
    defaulter: bool = False,
) -> Assessment:
    """`reported_county`: the insured county the caller reported, compared with the record's
    (the visit was already placed on the record's, service/admissions/service.py).
    `defaulter`: this hospital has marked the person a defaulter (恶意拖欠,
    service/receivables); the policy's `deposit_from_defaulters` then says whether a deposit
    may be taken."""
    if not status.known:
        return _unknown(status, policy, code=status.unknown_code, why=str(status.unknown_reason))
    record = status.record
    categories = record.categories_on(visit.admitted_on) if record else ()
    codes = frozenset(c.code for c in categories)
    eligibility = pay_after_treatment(policy, visit=visit, categories=codes)
    allowed = eligibility.deposit_allowed_fen if eligibility.eligible else None
    covered = is_covered(policy, codes)
    if status.source is Source.SNAPSHOT and not covered:
        return _unknown(
            status, policy, code="SNAPSHOT_SHOWS_NO_COVER", why=_no_cover(status, visit)
        )
    notices = list(source_notices(status))
    reasons = eligibility.reasons
    explanation = _known_deposit(allowed)
    if defaulter and eligibility.eligible:
        rule = policy.controls.pay_after_treatment
        may_take = rule is not None and rule.deposit_from_defaulters
        allowed = None if may_take else allowed
        if may_take:
            explanation = (
                "null: no limit. The patient is eligible, but this hospital marked them a "
                "defaulter (恶意拖欠) and the policy's deposit_from_defaulters allows a deposit."
            )
        reasons = (*reasons, "DEFAULTER_MARKED")
        notices.append(
            Notice(
                "DEFAULTER_MARKED",
                "This hospital has marked the patient a defaulter (恶意拖欠) on an earlier "
                "share; "
                + (
                    "the policy allows a deposit."
                    if may_take
                    else "the policy still allows no deposit beyond the usual amount."
                ),
            )
        )
    if record is not None:
        notices += _consistency(record, categories, reported_county)
        if covered:
            notices += _programme_rules(record, visit)
    if allowed is not None and deposit_intended_fen > allowed:
        notices.append(
            Notice(
                "DEPOSIT_NOT_ALLOWED",
                "The patient is eligible for pay-after-treatment (先诊疗后付费): "
                "take no deposit beyond the allowed amount.",
            )
        )
    return Assessment(
        categories=categories,
        covered=covered,
        eligible=eligibility.eligible,
        reasons=reasons,
        deposit_allowed_fen=allowed,
        notices=tuple(notices),
        deposit_basis="eligible" if eligibility.eligible else "not_eligible",
        deposit_explanation=explanation,
    )


def _known_deposit(allowed: int | None) -> str:
    if allowed is None:
        return (
            "null: no limit. The patient is not eligible for pay-after-treatment on this visit "
            "(the reasons say why), so the policy sets no limit on the deposit."
        )
    return (
        f"{fen_to_yuan(allowed)}: the patient is eligible for pay-after-treatment (先诊疗后付费); "
        "the policy allows no more deposit than this."
    )


def _unknown(
    status: PersonStatus, policy: CompiledPolicy, *, code: str | None, why: str
) -> Assessment:
    allowed = deposit_when_unknown(policy)
    advice = _unknown_deposit_advice(policy, allowed)
    notice = Notice(
        "STATUS_UNKNOWN",
        f"Eligibility cannot be determined: {why}. {advice}; report any deposit taken.",
    )
    reasons = ("STATUS_UNKNOWN", code) if code else ("STATUS_UNKNOWN",)
    shown = "null: no limit" if allowed is None else fen_to_yuan(allowed)
    explanation = f"{shown}: nobody can say whether the patient is covered. {advice}."
    notices = (*source_notices(status), notice)
    return Assessment((), None, None, reasons, allowed, notices, "status_unknown", explanation)


def _unknown_deposit_advice(policy: CompiledPolicy, allowed: int | None) -> str:
    """What the policy (pay_after_treatment.deposit_when_unknown) lets the desk do."""
    if allowed is None:
        return (
            f"Policy {policy.version} sets no deposit limit while the status is unknown; a "
            "deposit taken must be refunded if the person proves eligible"
        )
    if allowed == 0:
        return f"Policy {policy.version}: take no deposit until the status is confirmed"
    return (
        f"Policy {policy.version}: take no more than {fen_to_yuan(allowed)} yuan until the "
        "status is confirmed"
    )


def _no_cover(status: PersonStatus, visit: Visit) -> str:
    taken = local_date(status.snapshot_taken_at).isoformat() if status.snapshot_taken_at else "?"
    return (
        f"the registry did not answer ({status.registry_problem}) and the roster snapshot taken "
        f"{taken} lists this person in no covered category on {visit.admitted_on.isoformat()}; "
        "a snapshot can confirm cover, not its absence: the person may have entered a "
        "category since"
    )


def source_notices(status: PersonStatus) -> list[Notice]:
    """Where the answer came from, when the desk should know: a snapshot answer."""
    if status.source is not Source.SNAPSHOT or status.snapshot_taken_at is None:
        return []
    taken = local_date(status.snapshot_taken_at).isoformat()
    return [
        Notice(
            "ANSWERED_FROM_SNAPSHOT",
            f"The registry did not answer ({status.registry_problem}); this answer comes from "
            f"the roster snapshot taken {taken}.",
        )
    ]


def _consistency(
    record: PersonRecord, active: tuple[CategorySpan, ...], reported_county: str
) -> list[Notice]:
    notices = []
    codes = sorted({c.code for c in active})
    if active and record.insured_county != reported_county:
        notices.append(
            Notice(
                "INSURED_COUNTY_MISMATCH",
                f"The hospital reports insured county {reported_county}; the registry says "
                f"{record.insured_county}, and this visit is decided on "
                f"{record.insured_county}.",
                rule="REGISTRY_INCONSISTENT",
                evidence={
                    "problem": "insured_county_mismatch",
                    "reported": reported_county,
                    "registry": record.insured_county,
                },
            )
        )
    if record.deceased and active:
        notices.append(
            Notice(
                "DECEASED_IN_REGISTRY",
                "The registry records this person as deceased but still in active categories.",
                rule="REGISTRY_INCONSISTENT",
                evidence={"problem": "deceased_but_active", "deceased": True, "categories": codes},
            )
        )
    for pair in CONTRADICTING:
        if set(pair) <= set(codes):
            notices.append(
                Notice(
                    "CATEGORIES_CONTRADICT",
                    f"The registry lists categories that exclude each other: {pair[0]}, {pair[1]}.",
                    rule="REGISTRY_INCONSISTENT",
                    evidence={"problem": "categories_contradict", "categories": list(pair)},
                )
            )
    return notices


def _programme_rules(record: PersonRecord, visit: Visit) -> list[Notice]:
    day = visit.admitted_on
    notices = []
    doctor = record.family_doctor
    if doctor is None or not doctor.valid_on(day):
        notices.append(
            Notice(
                "NO_FAMILY_DOCTOR",
                "No valid family-doctor contract (家庭医生签约) for a covered person.",
                rule="NO_FAMILY_DOCTOR",
                evidence={
                    "contracted": bool(doctor and doctor.contracted),
                    "contract_valid_to": _iso(doctor.valid_to if doctor else None),
                },
            )
        )
    if visit.visit_type == "chronic_outpatient" and not record.chronic_card_valid_on(day):
        expired = max((c.valid_to for c in record.chronic_cards), default=None)
        notices.append(
            Notice(
                "CHRONIC_CARD_MISSING",
                "Chronic outpatient visit without a valid chronic-disease card (慢病卡)"
                + (f"; the card expired {expired.isoformat()}." if expired else "."),
                rule="CHRONIC_CARD_MISSING",
                evidence={"card_valid_to": _iso(expired), "visit_type": visit.visit_type},
            )
        )
    if visit.location != "in_county" and not visit.referred:
        notices.append(
            Notice(
                "IMPROPER_REFERRAL",
                "Admission outside the insured county without a referral (不规范转诊): "
                "lower reimbursement, no pay-after-treatment.",
                rule="IMPROPER_REFERRAL",
                evidence={"location": visit.location, "referred": False},
            )
        )
    return notices


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
