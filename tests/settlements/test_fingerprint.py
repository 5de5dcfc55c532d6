"""The idempotency fingerprint of a request that does not use the fields added later is the one
stored before they existed, so a HIS retrying a settlement made before an upgrade replays it
instead of meeting a 409 (service/settlements/idempotency.py)."""

from __future__ import annotations

from typing import Any

from service.settlements.idempotency import request_hash
from service.settlements.schemas import SettlementCreate

BEFORE_CATEGORIES = "f8ad00a430b228d6ea7dd989684e58f44d1c017d1d6f9dc3e1f153891a80e06a"
LINES = [
    {"item": "drug", "amount": "2000.00", "in_policy": True},
    {"item": "bed", "amount": "8000.00", "in_policy": True},
]


def _body(**extra: Any) -> SettlementCreate:
    lines = extra.pop("lines", LINES)
    return SettlementCreate.model_validate(
        {
            "visit_id": "V-1",
            "his_settlement_id": "S-1",
            "discharged_at": "2024-03-10T10:00:00+08:00",
            "bill": {
                "total": "10000.00",
                "in_policy": "10000.00",
                "out_of_policy": "0.00",
                "lines": lines,
            },
            **extra,
        }
    )


def test_a_body_without_the_new_fields_keeps_its_fingerprint() -> None:
    # the hash this body had before lines took a category and settlements a disease
    assert request_hash(_body()) == BEFORE_CATEGORIES
    assert request_hash(_body(disease=None)) == BEFORE_CATEGORIES


def test_a_category_or_a_disease_makes_a_different_request() -> None:
    categorised = [{**LINES[0], "category": "targeted_drug"}, LINES[1]]
    assert request_hash(_body(lines=categorised)) != BEFORE_CATEGORIES
    assert request_hash(_body(disease="childhood_leukemia")) != BEFORE_CATEGORIES
