"""Console tests act as a browser on the console's own pages: their forms carry its Origin, as a
browser's do (service/console/access.py refuses forms from anywhere else)."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.headers["Origin"] = str(client.base_url).rstrip("/")
    return client
