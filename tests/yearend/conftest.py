"""Year-end fixtures: the S7 worked example's policy (Jiangyin's year-end rule, written for the
prefecture 320200) loaded into the service, a county under it with a hospital, and keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import S7_HOSPITAL as HOSPITAL
from tests.factories import KeyFactory, seed_s7_region


@pytest.fixture
async def s7_region(app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory) -> None:
    await seed_s7_region(app.state.sessionmaker, client, await make_key("admin"))


@pytest.fixture
def hospital_key(make_key: KeyFactory, s7_region: None) -> Callable[[], Awaitable[dict[str, str]]]:
    async def _key() -> dict[str, str]:
        return await make_key("hospital", hospital_code=HOSPITAL)

    return _key
