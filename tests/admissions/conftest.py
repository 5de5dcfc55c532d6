"""Admission tests: the registry mocked with respx, a short deadline, a small breaker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from service.settings import Settings
from tests.factories import make_settings

REGISTRY = "http://registry.test"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, registry_total_deadline_seconds=0.3, registry_breaker_failures=3
    )


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=REGISTRY, assert_all_called=True) as router:
        yield router
