"""The hospital directory: one read per hospital per TTL, never a remembered "not registered"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import event

from service.regions.directory import HospitalDirectory
from service.regions.models import Hospital
from service.regions.service import HospitalNotFound
from tests import factories


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


async def test_a_known_hospital_is_read_once_within_the_ttl(
    app: FastAPI, statements: list[str]
) -> None:
    directory = HospitalDirectory(ttl_seconds=60)
    async with app.state.sessionmaker() as s:
        first = await directory.get(s, factories.COUNTY_HOSPITAL)
        reads = len(statements)
        again = await directory.get(s, factories.COUNTY_HOSPITAL)
    assert reads >= 1
    assert len(statements) == reads
    assert again == first
    assert (first.county_code, first.designated) == (factories.COUNTY, True)


async def test_a_hospital_registered_after_a_miss_is_found_at_once(app: FastAPI) -> None:
    directory = HospitalDirectory(ttl_seconds=60)
    async with app.state.sessionmaker() as s:
        with pytest.raises(HospitalNotFound):
            await directory.get(s, "H990102777")
        s.add(Hospital(code="H990102777", name="新医院", county_code="990102", level="primary",
                       tier="township"))  # fmt: skip
        await s.commit()
        found = await directory.get(s, "H990102777")
    assert found.level == "primary"


async def test_a_change_is_seen_once_the_ttl_has_passed(app: FastAPI) -> None:
    directory = HospitalDirectory(ttl_seconds=0)
    async with app.state.sessionmaker() as s:
        assert (await directory.get(s, factories.COUNTY_HOSPITAL)).designated
        await s.exec(
            sa.update(Hospital)
            .where(sa.column("code") == factories.COUNTY_HOSPITAL)
            .values(designated=False)
        )
        await s.commit()
        assert not (await directory.get(s, factories.COUNTY_HOSPITAL)).designated
