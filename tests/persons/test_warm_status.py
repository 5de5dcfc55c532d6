"""A warm status check (ADR 0020, third session): the number typed in its normal form is
recalled by its keyed hash instead of being checked again, and no session is made. Every other
form, and every invalid number, still goes through the whole check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

from service.persons import status as status_module
from tests import factories
from tests.factories import person_route

ID = factories.resident_id(seq=517)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=factories.REGISTRY_URL, assert_all_called=True) as router:
        yield router


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The numbers the status check ran the whole check on."""
    seen: list[str] = []
    identify = status_module.identify

    def counting(hasher: Any, raw: str, **kwargs: Any) -> Any:
        seen.append(raw)
        return identify(hasher, raw, **kwargs)

    monkeypatch.setattr(status_module, "identify", counting)
    return seen


async def test_a_number_in_its_normal_form_is_checked_once_then_recalled(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    checks: list[str],
) -> None:
    lookups = person_route(registry, ID).respond(200, json=factories.registry_person())
    first = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
    second = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
    assert first.status_code == second.status_code == 200, second.text
    assert checks == [ID]  # the second was recalled
    assert lookups.call_count == 1
    assert second.json()["source"]["kind"] == "cache"
    assert second.json()["person_masked"] == ID[:6] + "********" + ID[-4:]
    assert {**second.json(), "source": None} == {**first.json(), "source": None}


async def test_another_form_of_a_recalled_number_is_checked_and_answers_the_same(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    checks: list[str],
) -> None:
    person_route(registry, ID).respond(200, json=factories.registry_person())
    warm = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
    typed = ID.translate(FULL_WIDTH)  # as a Chinese input method types it
    other = await client.get(f"/v1/persons/{typed}/status", headers=hospital_headers)
    assert other.status_code == 200, other.text
    assert checks == [ID, typed]
    assert other.json()["person_masked"] == warm.json()["person_masked"]
    assert other.json()["pay_after_treatment"] == warm.json()["pay_after_treatment"]


async def test_an_invalid_number_is_refused_while_a_valid_one_is_warm(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    checks: list[str],
) -> None:
    person_route(registry, ID).respond(200, json=factories.registry_person())
    assert (await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)).is_success
    wrong_check = ID[:17] + ("0" if ID[17] != "0" else "1")
    refused = await client.get(f"/v1/persons/{wrong_check}/status", headers=hospital_headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_resident_id"
    assert wrong_check not in refused.text
    assert checks == [ID, wrong_check]


async def test_a_warm_check_makes_no_session(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    app.state.key_cache.ttl = 60
    person_route(registry, ID).respond(200, json=factories.registry_person())
    assert (await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)).is_success
    maker = app.state.sessionmaker
    made: list[object] = []

    def counting() -> Any:
        made.append(object())
        return maker()

    app.state.sessionmaker = counting
    try:
        warm = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
        assert warm.status_code == 200, warm.text
        assert made == []
        app.state.policies.invalidate()  # the policies must be read again: a session is made
        cold = await client.get(f"/v1/persons/{ID}/status", headers=hospital_headers)
        assert cold.status_code == 200, cold.text
        assert len(made) == 1
    finally:
        app.state.sessionmaker = maker
