"""Year-end fixtures: the S7 worked example's policy (Jiangyin's year-end rule, written for the
prefecture 320200) loaded into the service, a county under it with a hospital, and keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from service.regions.models import Hospital, Region
from tests.factories import KeyFactory
from tests.yearend.helpers import COUNTY, HOSPITAL, PREFECTURE, S7


@pytest.fixture
async def s7_region(app: FastAPI, client: httpx.AsyncClient, make_key: KeyFactory) -> None:
    async with app.state.sessionmaker() as s:
        s.add(Region(code="320000", name="江苏省", level="province"))
        s.add(Region(code=PREFECTURE, name="无锡市", level="prefecture", parent_code="320000"))
        s.add(Region(code=COUNTY, name="滨湖区", level="county", parent_code=PREFECTURE))
        s.add(
            Hospital(
                code=HOSPITAL,
                name="滨湖区人民医院",
                county_code=COUNTY,
                level="secondary",
                tier="county",
            )
        )
        await s.commit()
    body = {"source_text": S7.read_text(encoding="utf-8"), "reason": "S7 worked example"}
    loaded = await client.post("/v1/policies", json=body, headers=await make_key("admin"))
    assert loaded.status_code == 201, loaded.text


@pytest.fixture
def hospital_key(make_key: KeyFactory, s7_region: None) -> Callable[[], Awaitable[dict[str, str]]]:
    async def _key() -> dict[str, str]:
        return await make_key("hospital", hospital_code=HOSPITAL)

    return _key
