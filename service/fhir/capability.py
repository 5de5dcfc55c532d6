"""The CapabilityStatement: exactly what /fhir offers, and what it does not yet."""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from service.fhir.systems import FHIR_JSON, FHIR_VERSION

NOT_OFFERED = (
    "Not offered: PaymentReconciliation (a fund's clearing is in the JSON API, /v1/clearing), "
    "search, history, update and delete. Eligibility requests and predeterminations are "
    "answered, not stored."
)


def capability_statement(base_url: str) -> CapabilityStatement:
    return CapabilityStatement.model_validate(
        {
            "status": "active",
            "date": date(2026, 11, 29).isoformat(),
            "kind": "instance",
            "software": {"name": "settlecheck", "version": "0.1.0"},
            "implementation": {"description": "settlecheck FHIR interface", "url": base_url},
            "fhirVersion": FHIR_VERSION,
            "format": [FHIR_JSON],
            "rest": [
                {
                    "mode": "server",
                    "documentation": NOT_OFFERED,
                    "security": {"description": "Send your API key in X-API-Key."},
                    "resource": [
                        {
                            "type": "CoverageEligibilityRequest",
                            "interaction": [{"code": "create"}],
                            "documentation": "POST answers a CoverageEligibilityResponse (200); "
                            "nothing is stored.",
                        },
                        {
                            "type": "Claim",
                            "interaction": [{"code": "create"}],
                            "conditionalCreate": True,
                            "documentation": "POST answers a ClaimResponse: use=predetermination "
                            "(预结算, 200, nothing stored) or use=claim (结算, 201, or 200 when "
                            "the identifier was settled before). Claim.identifier is the "
                            "idempotency key; If-None-Exist: identifier=... is honoured.",
                        },
                        {"type": "ClaimResponse", "interaction": [{"code": "read"}]},
                        {
                            "type": "Task",
                            "interaction": [{"code": "create"}],
                            "documentation": "code=cancel with focus ClaimResponse/{id} "
                            "reverses the settlement (冲销).",
                        },
                    ],
                }
            ],
        }
    )
