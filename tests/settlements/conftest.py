"""Settlement test helpers: hospitals in the worked examples' regions, keys for them, and a
short way to post a settlement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI

from service.regions.models import Hospital
from tests.factories import KeyFactory

EXAMPLE_HOSPITALS = (
    Hospital(
        code="H500112001",
        name="渝北区人民医院",
        county_code="500112",
        level="secondary",
        tier="county",
    ),
    Hospital(
        code="H511802001",
        name="雨城区人民医院",
        county_code="511802",
        level="secondary",
        tier="county",
    ),
    Hospital(
        code="H420102001",
        name="江岸区人民医院",
        county_code="420102",
        level="secondary",
        tier="county",
    ),
    Hospital(
        code="H340102001",
        name="瑶海区人民医院",
        county_code="340102",
        level="secondary",
        tier="county",
    ),
    Hospital(
        code="H340100001",
        name="合肥市第一人民医院",
        county_code="340103",
        level="tertiary",
        tier="city",
    ),
    Hospital(
        code="H340000001",
        name="安徽省立医院",
        county_code="340104",
        level="tertiary",
        tier="province",
    ),
    Hospital(
        code="H320281001",
        name="江阴市人民医院",
        county_code="320281",
        level="secondary",
        tier="county",
    ),
    Hospital(
        code="H990201001",
        name="示例市中心医院",
        county_code="990201",
        level="tertiary",
        tier="city",
    ),
)


@pytest.fixture
async def example_hospitals(app: FastAPI) -> None:
    async with app.state.sessionmaker() as s:
        for hospital in EXAMPLE_HOSPITALS:
            s.add(Hospital.model_validate(hospital.model_dump()))
        await s.commit()


@pytest.fixture
def key_for(
    make_key: KeyFactory, example_hospitals: None
) -> Callable[[str], Awaitable[dict[str, str]]]:
    async def _key(hospital_code: str) -> dict[str, str]:
        return await make_key("hospital", hospital_code=hospital_code)

    return _key
