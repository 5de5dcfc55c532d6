"""The pure settlement engine (结算引擎): policy data in, every fen explained out.

No I/O: callers hand in the policy text, the patient's categories, the year's
accumulators and the bill; they get the result and the accumulator changes back.
"""

from service.policy.compiled import CompiledControls, CompiledPolicy, LayerPlan
from service.policy.controls import (
    deposit_when_unknown,
    is_covered,
    pay_after_treatment,
    points_for,
    snapshot_max_age_days,
)
from service.policy.document import PolicyDocument, check_versions, parse_policy
from service.policy.engine import reverse_deltas, settle
from service.policy.errors import (
    EngineInputError,
    ExternalAmountMissing,
    ExternalAmountOutOfRange,
    PolicyError,
    PolicyProblem,
    PolicyTooComplex,
    format_problems,
)
from service.policy.explain import explain
from service.policy.loading import load_policies
from service.policy.model import (
    Accumulators,
    Bill,
    BillLine,
    Eligibility,
    Finding,
    LayerResult,
    PriorAdmissions,
    SettlementResult,
    TraceLine,
    Visit,
)
from service.policy.money import fen_to_yuan, round_half_up, yuan_to_fen
from service.policy.resolution import inherit, resolve
from service.policy.selection import in_same_pooling_region, region_chain, select_policy
from service.policy.year_end import YearEndPayment, settle_year_end

__all__ = [
    "Accumulators",
    "Bill",
    "BillLine",
    "CompiledControls",
    "CompiledPolicy",
    "Eligibility",
    "EngineInputError",
    "ExternalAmountMissing",
    "ExternalAmountOutOfRange",
    "Finding",
    "LayerPlan",
    "LayerResult",
    "PolicyDocument",
    "PolicyError",
    "PolicyProblem",
    "PolicyTooComplex",
    "PriorAdmissions",
    "SettlementResult",
    "TraceLine",
    "Visit",
    "YearEndPayment",
    "check_versions",
    "deposit_when_unknown",
    "explain",
    "fen_to_yuan",
    "format_problems",
    "in_same_pooling_region",
    "inherit",
    "is_covered",
    "load_policies",
    "parse_policy",
    "pay_after_treatment",
    "points_for",
    "region_chain",
    "resolve",
    "reverse_deltas",
    "round_half_up",
    "select_policy",
    "settle",
    "settle_year_end",
    "snapshot_max_age_days",
    "yuan_to_fen",
]
