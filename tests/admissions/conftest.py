"""Admission tests: the registry mocked with respx, a short deadline, a small breaker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import respx
from fastapi import FastAPI

from service.roster.loading import load_people
from service.roster.rows import RosterPerson
from service.settings import Settings
from tests.conftest import make_settings

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


def person_route(registry: respx.MockRouter, id_number: str) -> respx.Route:
    return registry.get(f"/v1/persons/{id_number}")


async def seed_snapshot(
    app: FastAPI, *people: RosterPerson, taken_at: datetime | None = None
) -> None:
    async with app.state.sessionmaker() as session:
        await load_people(
            session,
            people=people,
            hasher=app.state.id_hasher,
            taken_at=taken_at or datetime(2026, 3, 1, tzinfo=UTC),
        )
        await session.commit()


def roster_person(id_number: str, *codes: str, **overrides: Any) -> RosterPerson:
    values: dict[str, Any] = {
        "id_number": id_number,
        "insured_county": "990102",
        "categories": tuple((c, date(2016, 1, 1), None) for c in codes),
        "family_doctor_until": date(2030, 12, 31),
    }
    values.update(overrides)
    return RosterPerson(**values)
