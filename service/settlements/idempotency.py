"""The request fingerprint behind idempotent settlement (hospital, visit, HIS settlement id);
the stored settlements of a visit are read with the visit (visits.py).

The fingerprint is taken over the request as the service understands it (amounts in fen,
times in UTC), so `"100.1"`, `100.10` and `"100.10"` are the same request.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from service.money import yuan_to_fen
from service.settlements.schemas import SettlementCreate


def _canonical(value: Any) -> Any:
    """What the JSON of a fingerprint holds for a value JSON has no type for (json.dumps asks
    only for those, and walks the dicts and lists itself)."""
    if isinstance(value, Decimal):
        return yuan_to_fen(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no canonical form for {type(value).__name__}")


# Fields added after settlements were stored: left out while unset, so the fingerprint of a
# request that does not use them is the one stored before they existed (a retry still replays).
_LATER_FIELDS = (("bill", "by_date"), ("mid_settlement",), ("disease",))
_LATER_LINE_FIELDS = ("category",)  # of each bill line (ADR 0019)


def request_hash(body: SettlementCreate) -> str:
    dumped = body.model_dump()
    for *parents, name in _LATER_FIELDS:
        holder = dumped
        for parent in parents:
            holder = holder[parent]
        if not holder[name]:
            del holder[name]
    for line in dumped["bill"]["lines"]:
        for name in _LATER_LINE_FIELDS:
            if line[name] is None:
                del line[name]
    canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(canonical.encode()).hexdigest()
