"""The settlement engine: one bill through every payer layer, to the fen.

结算引擎：按政策层级顺序逐层计算，每层四舍五入到分；各层合计加个人自付等于总费用。
Pure: no I/O, no clock, no globals written. Integer fen throughout.

The loop in ``_run_layers`` is deliberately one flat function over local integers: it is
the hot path (see docs/decisions/0002-policy-engine.md). Each kind's rule is one short
branch, and the branches read like the policy documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from service.policy.compiled import CompiledPolicy, ControlCheck, LayerPlan
from service.policy.errors import ExternalAmountMissing, ExternalAmountOutOfRange
from service.policy.model import (
    NO_PRIOR,
    Bill,
    Finding,
    LayerResult,
    PriorAdmissions,
    SettlementResult,
    TraceLine,
    Visit,
)
from service.policy.money import RATIO_DECIMALS, RATIO_STRINGS, round_half_up, share_units
from service.policy.trace import layer_line, summary_lines

__all__ = ["band_sum", "reverse_deltas", "settle"]

_new = tuple.__new__  # builds the NamedTuple results without a Python-level __new__ frame
_NO_POINTS = Decimal(0)


def band_sum(p: LayerPlan, eligible: int) -> int:
    """The bands' payment on a cumulative eligible amount (分段累计), rounded half up."""
    acc = 0
    for low, high, num in p.bands:
        if eligible <= low:
            break
        acc += num * ((eligible if high is None or eligible < high else high) - low)
    return round_half_up(acc, p.bands_den)


def settle(
    policy: CompiledPolicy,
    *,
    visit: Visit,
    categories: frozenset[str],
    bill: Bill,
    year: Mapping[str, int],
    skip_layers: frozenset[str] = frozenset(),
    trace: bool = False,
    given: Mapping[str, int] | None = None,
    prior: PriorAdmissions = NO_PRIOR,
) -> SettlementResult:
    """Settle one bill across every layer of the policy (一站式结算).

    ``year`` holds the year's accumulators before this bill; the result's ``deltas`` are
    what to add to them. ``given`` supplies the amounts of ``external`` layers (settled
    elsewhere, e.g. by the insurance system). ``skip_layers`` leaves layers out (their
    results say ``applied=False``).
    """
    situation = policy.situation(visit, categories)
    lines: list[TraceLine] | None = [] if trace else None
    deltas: dict[str, int] = {}
    layers, in_left, out_left, waived = _run_layers(
        situation.layers,
        situation.safety_nets,
        situation.line_categories,
        bill,
        year,
        skip_layers,
        given or {},
        deltas,
        lines,
        prior,
    )
    patient = in_left + out_left
    funds = bill.total_fen - waived - patient
    # the invariant, checked on the results themselves: layers + patient == bill, to the fen
    if sum([r.amount_fen for r in layers]) + patient != bill.total_fen or funds < 0:
        raise AssertionError(f"settlement does not add up to the bill {bill}: {layers}")
    net = bill.total_fen - waived
    actual = share_units(funds, net)
    out_share = share_units(bill.out_of_policy_fen, bill.total_fen)
    findings = (
        _findings(situation.checks, actual, share_units(patient, net), out_share) if net else ()
    )
    if lines is not None:
        lines.extend(
            summary_lines(bill.total_fen, waived, funds, patient, RATIO_DECIMALS[actual], findings)
        )
    return _new(
        SettlementResult,
        (
            layers,
            bill.total_fen,
            waived,
            funds,
            patient,
            in_left,
            out_left,
            RATIO_DECIMALS[actual],
            RATIO_DECIMALS[out_share],
            findings,
            MappingProxyType(deltas),
            tuple(lines) if lines is not None else (),
            policy.content_hash,
            policy.version,
        ),
    )


def _run_layers(
    plans: tuple[LayerPlan, ...],
    safety_nets: tuple[LayerPlan, ...],
    carved: frozenset[str],
    bill: Bill,
    year: Mapping[str, int],
    skip: frozenset[str],
    given: Mapping[str, int],
    deltas: dict[str, int],
    lines: list[TraceLine] | None,
    prior: PriorAdmissions,
) -> tuple[tuple[LayerResult, ...], int, int, int]:
    """Each layer in turn takes its share of what is still unpaid.

    Returns (layer results, in-policy left, out-of-policy left, waived)."""
    in_left = bill.in_policy_fen
    out_left = bill.out_of_policy_fen
    deductibles = 0  # the part of in_left that deductibles left with the patient
    waived = 0
    in_measure = in_left  # in-policy cost after fee waivers
    results: list[LayerResult] = []
    # in-catalogue amounts still unpaid of the line categories some layer treats apart
    lines_left: dict[str, int] = {}
    if carved:
        for bill_line in bill.lines:
            if bill_line.in_policy and bill_line.category in carved:
                c = bill_line.category
                lines_left[c] = lines_left.get(c, 0) + bill_line.amount_fen
    for p in plans:
        if not p.applies or p.code in skip:
            results.append(
                _new(LayerResult, (p.code, p.fund_type, p.name, False, 0, 0, p.ratio_text, 0, None))
            )
            continue
        kind = p.kind
        base_kind = p.base
        if base_kind == "in_policy_remaining":
            base = in_left
        elif base_kind == "total_remaining":
            base = in_left + out_left
        elif base_kind == "out_of_policy_remaining":
            base = out_left
        else:
            base = in_left - deductibles
        if carved and base_kind != "out_of_policy_remaining":
            if p.line_only:
                # a line with rules of its own (靶向药, 基本药物 ...): only those lines' cost
                own = sum([lines_left.get(c, 0) for c in p.line_only])
                inside = in_left if base_kind == "total_remaining" else base
                base = own if own < inside else inside
            elif p.line_except:
                base -= sum([lines_left.get(c, 0) for c in p.line_except])
                base = base if base > 0 else 0
        used = extra = 0
        shown = -1
        if kind == "ratio":
            # 基金支付 = (基数 − 起付线) × 比例 [+ 目录外费用 × 目录外比例]
            deductible = _deductible(p, prior)
            if p.deductible_per_year:
                deductible -= year.get(p.key_deductible, 0) + deltas.get(p.key_deductible, 0)
                deductible = deductible if deductible > 0 else 0
            used = deductible if deductible < base else base
            if used and p.deductible_per_year:
                deltas[p.key_deductible] = deltas.get(p.key_deductible, 0) + used
            amount = round_half_up(p.ratio_num * (base - used), p.ratio_den)
            if p.out_den:
                # supplementary cover may have its own out-of-catalogue deductible
                out_base = out_left - p.out_deductible_fen
                extra = round_half_up(p.out_num * out_base, p.out_den) if out_base > 0 else 0
                shown = base + out_left
            if base_kind != "out_of_policy_remaining" and base_kind != "total_remaining":
                deductibles += used
        elif kind == "bands":
            # 大病保险: the year's eligible amount moves along the bands; pay the difference
            before = (
                year.get(p.key_eligible, 0) + deltas.get(p.key_eligible, 0)
                if p.threshold_per_year
                else 0
            )
            after = before + base
            if base and p.threshold_per_year:
                deltas[p.key_eligible] = deltas.get(p.key_eligible, 0) + base
            t = p.threshold_fen
            used = max(0, min(after, t) - min(before, t))
            amount = band_sum(p, after) - band_sum(p, before)
        elif kind == "safety_net":
            # 兜底: the patient's yearly out-of-pocket stops at the personal cap
            room = p.personal_cap_fen - year.get(p.key_personal, 0)
            room = room if room > 0 else 0
            used = room if room < base else base
            amount = base - used
        elif kind == "top_up":
            # 补足: bring the funds' share of the measure up to the target ratio
            if p.measure_in_policy:
                measure, left = in_measure, in_left
            else:
                measure, left = bill.total_fen - waived, in_left + out_left
            amount = round_half_up(p.target_num * measure, p.target_den) - (measure - left)
            amount = amount if amount > 0 else 0
        elif kind == "fee_waiver":
            amount, extra, base = _waive(p, bill)
            in_measure -= amount
        elif kind == "fixed_amount":
            # 定额: a package's fixed fund amount (单病种 / 按病种付费), at most the base
            amount = p.amount_fen or 0
        elif kind == "hospital_share":
            # 医院减免: the hospital bears a fixed amount and/or a share of the out-of-catalogue
            # cost, or everything above what the patient keeps (a package's excess); neither
            # fund nor patient (hosp_part_amt)
            fixed = p.amount_fen
            amount = 0 if fixed is None else fixed
            if p.keeps_fen >= 0:
                amount = base - p.keeps_fen if base > p.keeps_fen else 0
            if p.out_den:
                extra = round_half_up(p.out_num * out_left, p.out_den)
                shown = base + out_left
        else:  # external: an amount settled elsewhere, handed in
            amount = _given(p, given, base)
        if amount > base:
            amount = base
        limit = p.per_admission_cap_fen
        annual_cap = p.annual_cap_fen
        for key, over, higher_annual, higher_admission in p.higher_caps:
            # a cap that depends on the case: the year's eligible amount above ``over``
            if year.get(key, 0) + deltas.get(key, 0) > over:
                if higher_annual is not None:
                    annual_cap = higher_annual
                if higher_admission is not None:
                    limit = higher_admission
        if p.once_per_year and year.get(p.key_paid, 0) + deltas.get(p.key_paid, 0):
            amount = extra = 0  # 一次性: already paid this year
        if annual_cap is not None:
            # a pool's other layers may already have paid in this settlement
            annual_cap -= year.get(p.key_paid, 0) + deltas.get(p.key_paid, 0)
            annual_cap = annual_cap if annual_cap > 0 else 0
            limit = annual_cap if limit is None or annual_cap < limit else limit
        if p.monthly_cap_fen is not None:
            # 月度限额 (chronic outpatient): what this month has left
            month = p.monthly_cap_fen - prior.paid_this_month.get(p.key_paid, 0)
            month -= deltas.get(p.key_paid, 0)
            month = month if month > 0 else 0
            limit = month if limit is None or month < limit else limit
        if limit is not None and amount + extra > limit:
            amount = amount if amount < limit else limit
            extra = limit - amount
        if base_kind == "out_of_policy_remaining" and kind != "fee_waiver":
            pay_in, pay_out = 0, amount + extra
        elif base_kind == "total_remaining":
            pay_in = amount if amount < in_left else in_left
            pay_out = amount - pay_in + extra
        else:
            pay_in, pay_out = amount, extra
        if pay_in > in_left:
            pay_in = in_left
        if pay_out > out_left:
            pay_out = out_left
        if p.line_only:
            pay_out = 0  # a line layer pays on its own in-catalogue lines only
        if lines_left and pay_in:
            _take(lines_left, pay_in, in_left, p)
        in_left -= pay_in
        out_left -= pay_out
        if deductibles > in_left:
            deductibles = in_left
        paid = pay_in + pay_out
        if paid:
            deltas[p.key_paid] = deltas.get(p.key_paid, 0) + paid
        if kind == "fee_waiver":
            waived += paid
        elif kind == "hospital_share":
            waived += paid
            in_measure -= pay_in
        cap_left = None if annual_cap is None else annual_cap - paid
        if shown < 0:
            shown = base
        result = _new(
            LayerResult,
            (p.code, p.fund_type, p.name, True, shown, used, p.ratio_text, paid, cap_left),
        )
        results.append(result)
        if lines is not None:
            lines.append(layer_line(p, result, in_left + out_left))
    for p in safety_nets:
        if p.code not in skip:
            counted = in_left if p.counts_in_policy else in_left + out_left
            if counted:
                deltas[p.key_personal] = deltas.get(p.key_personal, 0) + counted
    return tuple(results), in_left, out_left, waived


def _take(lines_left: dict[str, int], pay: int, in_left: int, p: LayerPlan) -> None:
    """Book an in-catalogue payment against the lines treated apart: a line layer pays its own
    lines; any other layer pays the ordinary lines first, then the lines it does not leave to
    others."""
    if not p.line_only:
        general = in_left - sum(lines_left.values())
        pay -= pay if pay < general else general if general > 0 else 0
    for c in sorted(lines_left):
        if pay <= 0:
            return
        if (p.line_only and c not in p.line_only) or c in p.line_except:
            continue
        take = lines_left[c] if lines_left[c] < pay else pay
        lines_left[c] -= take
        pay -= take
    for c in sorted(lines_left):  # never reached by a consistent bill: keep lines <= in_left
        take = lines_left[c] if lines_left[c] < pay else pay
        lines_left[c] -= take
        pay -= take


def _deductible(p: LayerPlan, prior: PriorAdmissions) -> int:
    """This admission's deductible (起付线) before what the year has already consumed."""
    mode = p.deductible_mode
    if mode == "per_hospital_year" and prior.at_hospital_this_year:
        return 0  # only the first admission at each hospital in the year pays it
    if mode == "per_quarter" and prior.this_quarter:
        return 0  # only the first admission of the quarter pays it
    full = p.deductible_fen
    if p.later_den and prior.this_year and mode != "per_year":
        # 第二次及以后住院: reduced (e.g. halved), never below the floor nor above the full one
        reduced = round_half_up(full * p.later_num, p.later_den)
        floor = p.later_floor_fen if p.later_floor_fen < full else full
        return reduced if reduced > floor else floor
    return full


def _waive(p: LayerPlan, bill: Bill) -> tuple[int, int, int]:
    """减免: fee classes waived or halved before insurance; (in-policy, out-of-policy, base)."""
    base = waived_in = waived_out = 0
    for line in bill.lines:
        fraction = p.waive.get(line.item)
        if fraction is not None:
            base += line.amount_fen
            amount = round_half_up(fraction[0] * line.amount_fen, fraction[1])
            if line.in_policy:
                waived_in += amount
            else:
                waived_out += amount
    return waived_in, waived_out, base


def _given(p: LayerPlan, given: Mapping[str, int], base: int) -> int:
    if p.code not in given:
        raise ExternalAmountMissing(p.code)
    amount = given[p.code]
    if not 0 <= amount <= base:
        raise ExternalAmountOutOfRange(p.code, amount, base)
    return amount


def _findings(
    checks: tuple[ControlCheck, ...], actual: int, patient: int, out_share: int
) -> tuple[Finding, ...]:
    """One finding per settlement control (ratios in units of 0.0001)."""
    if not checks:
        return ()
    out = []
    for c in checks:
        if c.measure == "fixed":
            out.append(c.seen[0])
            continue
        q = actual if c.measure == "actual" else patient if c.measure == "patient" else out_share
        finding = c.seen.get(q)
        if finding is None:
            finding = c.seen[q] = _finding(c, q)
        out.append(finding)
    return tuple(out)


def _finding(c: ControlCheck, q: int) -> Finding:
    measured = RATIO_DECIMALS[q]
    violated = measured < c.limit if c.measure == "actual" else measured > c.limit
    points, detail = (c.points, c.detail_violated) if violated else (_NO_POINTS, c.detail_ok)
    return Finding(c.rule, violated, RATIO_STRINGS[q], c.limit_text, points, detail)


def reverse_deltas(deltas: Mapping[str, int]) -> dict[str, int]:
    """The compensating deltas of a reversal (冲销): every accumulator change negated."""
    return {key: -value for key, value in deltas.items()}
