"""Who may read /metrics: an admin key, or the scrape token when one is configured.

Metrics name every route, its traffic and its errors, which helps whoever probes the service;
a Prometheus scrape job sends the token as `Authorization: Bearer …` (ADR 0016).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from service.auth.deps import _api_key_header, _bearer, get_principal
from service.auth.principal import Role
from service.errors import Forbidden


async def require_metrics_reader(
    request: Request, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    token = request.app.state.settings.metrics_token
    bearer = _bearer(request)
    if token is not None and bearer is not None and not api_key:
        if hmac.compare_digest(bearer.encode(), token.get_secret_value().encode()):
            return
    principal = await get_principal(request, api_key)
    if principal.role is not Role.ADMIN:
        raise Forbidden(
            f"metrics are for admin keys or the scrape token; yours is {principal.role}"
        )
