"""Canonical JSON and the digests taken over it: the same content always hashes the same."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "request_digest"]


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is: one serialisation per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_digest(payload: dict[str, Any]) -> str:
    """SHA-256 of a request body's canonical JSON (for bodies that hold no ID number: a plain
    digest of an ID number could be reversed by enumeration; use `IdHasher.key_of` for those)."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
