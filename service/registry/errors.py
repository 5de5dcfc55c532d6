"""Registry failures, translated at the client boundary.

Technical (the registry could not answer: timeout, unreachable, 5xx, garbage, breaker open)
versus logical (it answered, and refused our request). Neither is ever an answer about a
person: callers fall back to the roster snapshot, then to `unknown`.
"""

from __future__ import annotations

from service.errors import ServiceError


class RegistryError(ServiceError):
    status, code, title = 502, "registry_error", "Registry error"


class RegistryUnavailable(RegistryError):
    """Technical: worth a retry, counts against the circuit breaker."""

    status, code, title = 503, "registry_unavailable", "Registry unavailable"


class RegistryNotConfigured(RegistryUnavailable):
    code = "registry_not_configured"


class RegistryTimeout(RegistryUnavailable):
    status, code, title = 504, "registry_timeout", "Registry timed out"


class RegistryUnreachable(RegistryUnavailable):
    status, code = 502, "registry_unreachable"


class RegistryBadResponse(RegistryUnavailable):
    """A 5xx, or a body that is not what docs/registry-api.md promises."""

    status, code, title = 502, "registry_bad_response", "Registry answered garbage"


class RegistryCircuitOpen(RegistryUnavailable):
    code = "registry_circuit_open"


class RegistryRejected(RegistryError):
    """Logical: the registry refused the request (4xx other than a documented 404)."""

    status, code, title = 422, "registry_rejected", "Registry refused the lookup"
