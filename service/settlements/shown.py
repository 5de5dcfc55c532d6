"""How much of a settlement's trace a response shows (`?trace=`), and its one serialization.

The trace is computed and stored in full with every settlement; a caller that only needs the
money can ask for less of it in the answer: `summary` keeps the reconciliation line (step
`total`), `none` an empty list. A later GET with the default shows the whole trace again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Response

from service.serialize import model_response
from service.settlements.schemas import SettlementPublic

TraceDetail = Literal["full", "summary", "none"]

TraceQuery = Annotated[
    TraceDetail,
    Query(
        description=(
            "How much of the calculation trace (计算过程) the answer shows: `full` (default) "
            "every step in Chinese and English; `summary` only the reconciliation line (step "
            "`total`: bill = waived + funds + patient, and the actual ratio); `none` an empty "
            "list. The settlement is stored with its full trace whichever is asked; the "
            "smaller answers cost less to send and to parse."
        )
    ),
]

SUMMARY_STEPS = frozenset({"total"})


def shown(settlement: SettlementPublic, trace: TraceDetail) -> SettlementPublic:
    if trace == "full":
        return settlement
    kept = [] if trace == "none" else [t for t in settlement.trace if t.step in SUMMARY_STEPS]
    return settlement.model_copy(update={"trace": kept})


def settlement_response(
    settlement: SettlementPublic,
    trace: TraceDetail,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return model_response(shown(settlement, trace), status_code=status_code, headers=headers)
