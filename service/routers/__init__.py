"""Every router the app mounts, in the order they appear in the OpenAPI document."""

from fastapi import APIRouter

from service.routers import (
    admissions,
    console,
    health,
    indicators,
    keys,
    persons,
    policies,
    settlements,
    violations,
)

ROUTERS: list[APIRouter] = [
    health.router,
    keys.router,
    admissions.router,
    persons.router,
    policies.router,
    settlements.router,
    violations.router,
    indicators.router,
    console.router,
]
