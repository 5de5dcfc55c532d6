"""FHIR helpers: resources as a HIS would send them, and posting them as application/fhir+json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from service.fhir import systems
from service.settings import Settings
from tests import factories
from tests.conftest import make_settings

REGISTRY = "http://registry.test"
FHIR = {"Content-Type": systems.FHIR_JSON, "Accept": systems.FHIR_JSON}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, registry_total_deadline_seconds=0.3)


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=REGISTRY, assert_all_called=False) as router:
        yield router


def dumps(resource: dict[str, Any]) -> str:
    """JSON with each Decimal written as the exact number it is (never through a float)."""
    marked = json.dumps(resource, default=lambda d: f"@@{d}@@", ensure_ascii=False)
    return re.sub(r'"@@(-?[0-9.]+)@@"', r"\1", marked)


async def post(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    resource: dict[str, Any],
    **extra: str,
) -> httpx.Response:
    return await client.post(
        f"/fhir/{path}",
        content=dumps(resource).encode(),
        headers={**headers, **FHIR, **extra},
    )


def fhir_body(response: httpx.Response, resource_type: str) -> dict[str, Any]:
    assert response.headers["content-type"].startswith(systems.FHIR_JSON), response.text
    body: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
    assert body["resourceType"] == resource_type, body
    return body


def outcome(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = fhir_body(response, "OperationOutcome")
    issue: dict[str, Any] = body["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code, issue
    return issue


def claim(
    visit_id: str,
    *,
    identifier: str | None = "HIS-S1",
    use: str = "claim",
    in_policy: str = "20000.00",
    full_self_pay: str = "500.00",
    discharged: str = "2024-03-10T10:00:00+08:00",
) -> dict[str, Any]:
    """A Claim for the bill of tests/nhsa's settlement_input: 20,500 yuan, 500 全自费."""
    encounter = {"identifier": {"system": systems.VISIT, "value": visit_id}}
    items = [
        ("in-policy", in_policy),
        ("full-self-pay", full_self_pay),
    ]
    resource: dict[str, Any] = {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": systems.CLAIM_TYPE, "code": "institutional"}]},
        "use": use,
        "patient": {"display": "张*"},
        "billablePeriod": {"start": "2024-03-01T08:00:00+08:00", "end": discharged},
        "created": "2024-03-10T10:00:00+08:00",
        "provider": {
            "identifier": {"system": systems.HOSPITAL, "value": factories.COUNTY_HOSPITAL}
        },
        "priority": {"coding": [{"system": systems.PROCESS_PRIORITY, "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "城乡居民医保"}}],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"system": systems.BILL_PART, "code": code}]},
                "net": {"value": Decimal(amount), "currency": "CNY"},
                "encounter": [encounter],
            }
            for n, (code, amount) in enumerate(items, start=1)
        ],
        "total": {"value": Decimal(in_policy) + Decimal(full_self_pay), "currency": "CNY"},
    }
    if identifier is not None:
        resource["identifier"] = [{"system": "urn:his:settlement", "value": identifier}]
    return resource
