"""The upstream poverty registry (扶贫/低收入人口动态监测信息系统): client, wire schemas, errors."""

from service.registry.breaker import CircuitBreaker
from service.registry.client import RegistryClient, build_registry_client
from service.registry.errors import (
    RegistryBadResponse,
    RegistryCircuitOpen,
    RegistryError,
    RegistryNotConfigured,
    RegistryRejected,
    RegistryTimeout,
    RegistryUnavailable,
    RegistryUnreachable,
)
from service.registry.schemas import CategorySpan, ChronicCard, FamilyDoctor, PersonRecord

__all__ = [
    "CategorySpan",
    "ChronicCard",
    "CircuitBreaker",
    "FamilyDoctor",
    "PersonRecord",
    "RegistryBadResponse",
    "RegistryCircuitOpen",
    "RegistryClient",
    "RegistryError",
    "RegistryNotConfigured",
    "RegistryRejected",
    "RegistryTimeout",
    "RegistryUnavailable",
    "RegistryUnreachable",
    "build_registry_client",
]
