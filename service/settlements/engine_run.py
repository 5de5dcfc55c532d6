"""Running the engine for one settlement: the context's policy, visit, bill and categories, the
year so far. The engine's own input errors (an external amount missing or out of range) are the
caller's to fix (422); any other exception from it is a bug and stays a 500."""

from __future__ import annotations

from collections.abc import Mapping

from service.policy import SettlementResult, Visit, settle
from service.policy.errors import ExternalAmountMissing, ExternalAmountOutOfRange
from service.settlements.context import Context
from service.settlements.errors import InvalidExternalAmounts


def run(
    ctx: Context,
    year: Mapping[str, int],
    *,
    visit: Visit | None = None,
    skip: frozenset[str] | None = None,
    trace: bool = True,
) -> SettlementResult:
    try:
        return settle(
            ctx.policy,
            visit=visit or ctx.visit,
            categories=ctx.categories,
            bill=ctx.bill,
            year=year,
            skip_layers=ctx.skip if skip is None else skip,
            trace=trace,
            given=ctx.given,
            prior=ctx.prior,
        )
    except (ExternalAmountMissing, ExternalAmountOutOfRange) as exc:
        # Only the engine's own input errors are the caller's; anything else is a bug (500).
        raise InvalidExternalAmounts(str(exc), field=f"external_amounts.{exc.layer}") from exc
