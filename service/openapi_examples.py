"""A worked example for every operation of the OpenAPI document, so that "Try it out" on /docs
works without guessing: the demo hospital, a patient of the demo roster, a bill.

The examples follow one visit through its life (admit, report a deposit, preview, settle, read,
reverse) and are dated relative to the day the document is built, so they stay inside the
service's plausible date window however long the service has been running. They are attached
to the document by method and path, which every API change keeps; `tests/foundation/
test_openapi_examples.py` sends each one to the service and expects it to be accepted.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from fastapi import FastAPI

from service.china_time import CHINA_TZ
from service.china_time import today as china_today
from service.demo import DEMO_HOSPITAL, DEMO_HOSPITALS, DEMO_REGIONS

VISIT_ID = "ZY2026-000123"
SETTLEMENT_ID = 1
VIOLATION_ID = 1


@cache
def demo_patient() -> str:
    """The first covered (建档立卡) person of 演示县 in the demo roster."""
    from service.roster.demo import demo_people

    return next(
        p.id_number
        for p in demo_people()
        if p.insured_county == "990102" and p.categories[-1][0] == "registered_poor"
    )


@cache
def demo_policy_hash() -> str:
    """The content hash of the shipped policy of 演示县."""
    from service.policy_versions.shipped import shipped_versions

    return next(
        v.content_hash for v in shipped_versions(loaded_by="example") if v.region_code == "990102"
    )


@cache
def example_policy_hash(today: date) -> str:
    """The content hash the example policy of POST /v1/policies gets (withdrawn in the journey)."""
    from service.policy_versions.service import compile_all
    from service.policy_versions.shipped import shipped_policy_texts

    texts = {**shipped_policy_texts(), "example": _example_policy(today)}
    return next(p.content_hash for p in compile_all(texts) if p.region_code == "990103")


def _example_policy(today: date) -> str:
    return POLICY_EXAMPLE.format(start=date(today.year + 1, 1, 1).isoformat())


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=CHINA_TZ).isoformat()


def _bill() -> dict[str, Any]:
    return {
        "total": "12000.00",
        "in_policy": "10000.00",
        "out_of_policy": "2000.00",
        "out_of_policy_breakdown": {
            "full_self_pay": "1500.00",
            "over_limit_self_pay": "500.00",
            "pre_self_pay": "0.00",
        },
        # Lines are optional; a line of a category with rules of its own (靶向药, 基本药物)
        # names one of the policy's `bill_categories`, e.g. "category": "targeted_drug" where
        # the policy in force defines it (the demo county's does not: ordinary lines here).
        "lines": [
            {"item": "bed", "amount": "1800.00", "in_policy": True},
            {"item": "drug", "amount": "5200.00", "in_policy": True},
            {"item": "exam", "amount": "3000.00", "in_policy": True},
            {"item": "drug", "amount": "2000.00", "in_policy": False},
        ],
    }


# The example visit's share under pay-after-treatment is the example bill's 个人负担 under the
# demo county's policy; the instalment example splits it as 50.00 + the rest.
SHARE_LEFT = "1950.00"  # 2000.00 − 50.00


def last_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def directory_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """The demo county and hospital as registered: sent again, they change nothing."""
    county = next(r for r in DEMO_REGIONS if r.code == "990102")
    hospital = next(h for h in DEMO_HOSPITALS if h.code == DEMO_HOSPITAL)
    return {
        ("put", "/v1/regions/{region_code}"): county.model_dump(
            include={"name", "level", "parent_code"}
        ),
        ("put", "/v1/hospitals/{hospital_code}"): hospital.model_dump(
            include={"name", "county_code", "level", "tier", "designated"}
        ),
    }


def request_bodies(today: date) -> dict[tuple[str, str], dict[str, Any]]:
    """Request bodies by (method, path template)."""
    admitted, discharged = today - timedelta(days=6), today - timedelta(days=1)
    settle = {
        "visit_id": VISIT_ID,
        "discharged_at": _at(discharged, 10),
        "bill": _bill(),
        "settlement_mode": "one_stop",
    }
    return {
        **directory_bodies(),
        ("post", "/v1/keys"): {
            "role": "hospital",
            "hospital_code": "H990102001",
            "label": "青山镇卫生院 HIS",
        },
        ("post", "/v1/admissions"): {
            "visit_id": VISIT_ID,
            "id_number": demo_patient(),
            "name": "王明",
            "admitted_at": _at(admitted, 9),
            "visit_type": "inpatient",
            "insured_county": "990102",
            "deposit_intended": "0.00",
        },
        ("post", "/v1/admissions/{visit_id}/deposits"): {
            "receipt_no": "YJ2026-0042",
            "amount": "500.00",
            "taken_at": _at(admitted, 10),
        },
        ("post", "/v1/admissions/{visit_id}/reversal"): {
            "reason": "登记错误：患者未实际入院",
        },
        ("post", "/v1/settlements/preview"): settle,
        ("post", "/v1/settlements"): {**settle, "his_settlement_id": "JS2026-000123"},
        ("post", "/v1/settlements/{settlement_id}/reversal"): {
            "reason": "费用明细录入错误，冲销后重新结算",
            "his_reversal_id": "CX2026-000123",
        },
        ("post", "/v1/violations/{violation_id}/transitions"): {
            "to_status": "rectifying",
            "note": "已退还押金，整改中",
            "evidence_ref": "整改报告-2026-017",
        },
        ("post", "/v1/violations/verify"): {
            "exported_at": _at(admitted, 0),
            "heads": [
                {
                    "chain": "990102",
                    "seq": 1,
                    "head_hash": "9f2c4e0b7a1d3c5e8f6a2b4d1c3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e",
                }
            ],
        },
        **interface_bodies(today),
        ("post", "/v1/clearing/funds"): {
            "code": "F9901-AID",
            "fund_type": "medical_aid",
            "region_code": "9901",
            "name": "示例市医疗救助基金",
            "owner": "示例市医疗保障局",
        },
        ("post", "/v1/clearing/statements"): {
            "fund_code": "F99-BASIC",
            "hospital_code": DEMO_HOSPITAL,
            "period": last_month(today),
        },
        ("post", "/v1/clearing/statements/{statement_id}/payments"): {
            "amount": "1200.00",
            "paid_on": today.isoformat(),
            "reference": "BOC-20260401-0001",
        },
        ("post", "/v1/receivables/{receivable_id}/payments"): {
            "his_payment_id": "SF2026-000123-1",
            "method": "wechat_pay",
            "receipt_no": "SJ2026-0042",
            "amount": "50.00",
            "paid_at": _at(discharged, 11),  # at the window after discharge, never ahead
        },
        ("post", "/v1/receivables/{receivable_id}/instalments"): {
            "instalments": [
                {"due_on": (discharged + timedelta(days=30)).isoformat(), "amount": "50.00"},
                {"due_on": (discharged + timedelta(days=60)).isoformat(), "amount": SHARE_LEFT},
            ]
        },
        ("post", "/v1/receivables/{receivable_id}/reminders"): {
            "channel": "sms",
            "sent_at": _at(discharged, 15),
        },
        ("post", "/v1/receivables/{receivable_id}/defaulter"): {
            "reason": "多次催缴，有能力支付而拒不支付",
        },
        ("post", "/v1/receivables/{receivable_id}/defaulter/removal"): {
            "reason": "已达成还款协议",
        },
        ("post", "/v1/policies/whatif"): {
            "source_text": WHATIF_EXAMPLE.format(start=date(today.year + 1, 1, 1).isoformat()),
            "over": today.year,
            "top": 5,
        },
        ("post", "/v1/year-end/runs"): {
            "region_code": "990102",
            "plan_year": today.year - 1,
            "dry_run": False,
        },
        ("post", "/v1/policies"): {
            "source_text": _example_policy(today),
            "source_name": "邻县2027年健康帮扶政策（征求意见稿）",
            "reason": "县医保局2027年度政策（征求意见稿）",
        },
        ("post", "/v1/policies/{withdraw_hash}/withdrawal"): {
            "reason": "征求意见后重新起草，撤回尚未生效的版本",
        },
    }


POLICY_EXAMPLE = """\
region: "990103"
region_name: 邻县
inherits: "990000"
name: 邻县健康帮扶一站式结算政策
version: "example-county"
effective_from: {start}
effective_to: null
sources:
  - "example: the county lowers the township-hospital deductible"
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "50.00"}}
"""


WHATIF_EXAMPLE = """\
region: "990102"
region_name: 演示县
inherits: "990000"
name: 演示县健康帮扶一站式结算政策（测算稿）
version: "proposal-medical-aid-75"
effective_from: {start}
effective_to: null
sources:
  - "proposal: medical aid 75% instead of the province's rate"
layers:
  - code: basic_insurance
    deductible_by_level: {{primary: "50.00"}}
  - code: medical_aid
    ratio: "0.75"
"""


def interface_bodies(today: date) -> dict[tuple[str, str], dict[str, Any]]:
    """The same visit through the NHSA-style and FHIR interfaces (docs/nhsa.md, docs/fhir.md):
    a 1101 person query, an eligibility check, a pre-settlement Claim (nothing stored) and the
    Task that cancels the settlement, sent after the JSON reversal with its reason and id, so it
    answers that same reversal."""
    discharged = today - timedelta(days=1)
    visit = {"identifier": {"system": "urn:settlecheck:sid:visit", "value": VISIT_ID}}
    parts = [("in-policy", 10000), ("full-self-pay", 1500), ("over-limit-self-pay", 500)]
    return {
        ("post", "/nhsa"): {
            "infno": "1101",
            "msgid": DEMO_HOSPITAL + today.strftime("%Y%m%d") + "0800000001",
            "mdtrtarea_admvs": "990102",
            "insuplc_admdvs": "990102",
            "recer_sys_code": "YBXT",
            "infver": "V1.0",
            "opter": "0042",
            "opter_name": "收费员",
            "inf_time": f"{today.isoformat()} 08:00:00",
            "fixmedins_code": DEMO_HOSPITAL,
            "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": demo_patient()}},
        },
        ("post", "/fhir/CoverageEligibilityRequest"): {
            "resourceType": "CoverageEligibilityRequest",
            "status": "active",
            "purpose": ["validation", "benefits"],
            "patient": {
                "identifier": {"system": "urn:settlecheck:sid:resident-id", "value": demo_patient()}
            },
            "servicedDate": today.isoformat(),
            "created": _at(today, 8),
            "insurer": {"display": "演示县医疗保障局"},
        },
        ("post", "/fhir/Claim"): {
            "resourceType": "Claim",
            "status": "active",
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                        "code": "institutional",
                    }
                ]
            },
            "use": "predetermination",
            "patient": {"display": "王*"},
            "billablePeriod": {"end": _at(discharged, 10)},
            "created": _at(discharged, 10),
            "provider": {
                "identifier": {"system": "urn:settlecheck:sid:hospital", "value": DEMO_HOSPITAL}
            },
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "城乡居民医保"}}],
            "item": [
                {
                    "sequence": n,
                    "productOrService": {
                        "coding": [{"system": "urn:settlecheck:cs:bill-part", "code": code}]
                    },
                    "net": {"value": amount, "currency": "CNY"},
                    "encounter": [visit],
                }
                for n, (code, amount) in enumerate(parts, start=1)
            ],
            "total": {"value": 12000, "currency": "CNY"},
        },
        ("post", "/fhir/Task"): {
            "resourceType": "Task",
            "identifier": [{"system": "urn:his:reversal", "value": "CX2026-000123"}],
            "status": "requested",
            "intent": "order",
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/financialtaskcode", "code": "cancel"}]
            },
            "focus": {"reference": f"ClaimResponse/{SETTLEMENT_ID}"},
            "reasonCode": {"text": "费用明细录入错误，冲销后重新结算"},
        },
    }


def parameter_values(today: date | None = None) -> dict[str, Any]:
    """Path and query parameters by name."""
    return {
        "visit_id": VISIT_ID,
        "settlement_id": SETTLEMENT_ID,
        "response_id": str(SETTLEMENT_ID),
        "violation_id": VIOLATION_ID,
        "id_number": demo_patient(),
        "hospital_code": DEMO_HOSPITAL,
        "region": "990102",
        "key_id": 1,
        "content_hash": demo_policy_hash(),
        "withdraw_hash": example_policy_hash(today or china_today()),
        "fmt": "xlsx",
        "receivable_id": 1,
        "statement_id": 1,
        "reconciliation_id": 1,
        "fund_code": "F99-BASIC",
        "year": china_today().year,
        "region_code": "990102",
        "plan_year": (today or china_today()).year - 1,
    }


def add_examples(document: dict[str, Any], *, today: date | None = None) -> dict[str, Any]:
    """Attach the examples to an OpenAPI document (in place) and return it."""
    today = today or china_today()
    bodies = request_bodies(today)
    values = {**parameter_values(today), "period": last_month(today)}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            body = bodies.get((method, path))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and content is not None:
                content["example"] = body
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query") and parameter["name"] in values:
                    parameter.setdefault("example", values[parameter["name"]])
    return document


def with_examples(app: FastAPI) -> None:
    """Build the app's OpenAPI document with the examples attached (once, like FastAPI)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_examples(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
