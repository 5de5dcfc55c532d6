"""Directory tests that admit a patient: the registry mocked with respx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.factories import REGISTRY_URL


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=REGISTRY_URL, assert_all_called=True) as router:
        yield router
