"""A warm status check (ADR 0020, third session): the number typed in its normal form is
recalled by its keyed hash instead of being checked again, and no session is made. Every other
form, and every invalid number, still goes through the whole check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
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


Ask = Callable[[str], Awaitable[httpx.Response]]


@pytest.fixture
def ask(client: httpx.AsyncClient, hospital_headers: dict[str, str]) -> Ask:
    """A hospital's status check of a number."""

    async def get(number: str) -> httpx.Response:
        return await client.get(f"/v1/persons/{number}/status", headers=hospital_headers)

    return get


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
    ask: Ask, registry: respx.MockRouter, checks: list[str]
) -> None:
    lookups = person_route(registry, ID).respond(200, json=factories.registry_person())
    first = await ask(ID)
    second = await ask(ID)
    assert first.status_code == second.status_code == 200, second.text
    assert checks == [ID]  # the second was recalled
    assert lookups.call_count == 1
    assert second.json()["source"]["kind"] == "cache"
    assert second.json()["person_masked"] == ID[:6] + "********" + ID[-4:]
    assert {**second.json(), "source": None} == {**first.json(), "source": None}


@pytest.fixture
async def warm(ask: Ask, registry: respx.MockRouter, checks: list[str]) -> dict[str, Any]:
    """The first status check of ID (the registry asked, the number checked): its answer."""
    person_route(registry, ID).respond(200, json=factories.registry_person())
    first = await ask(ID)
    assert first.status_code == 200, first.text
    answer: dict[str, Any] = first.json()
    return answer


async def test_another_form_of_a_recalled_number_is_checked_and_answers_the_same(
    ask: Ask, warm: dict[str, Any], checks: list[str]
) -> None:
    typed = ID.translate(FULL_WIDTH)  # as a Chinese input method types it
    other = await ask(typed)
    assert other.status_code == 200, other.text
    assert checks == [ID, typed]
    assert other.json()["person_masked"] == warm["person_masked"]
    assert other.json()["pay_after_treatment"] == warm["pay_after_treatment"]


async def test_an_invalid_number_is_refused_while_a_valid_one_is_warm(
    ask: Ask, warm: dict[str, Any], checks: list[str]
) -> None:
    wrong_check = ID[:17] + ("0" if ID[17] != "0" else "1")
    refused = await ask(wrong_check)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_resident_id"
    assert wrong_check not in refused.text
    assert checks == [ID, wrong_check]


async def test_a_warm_check_makes_no_session(
    app: FastAPI, ask: Ask, registry: respx.MockRouter
) -> None:
    app.state.key_cache.ttl = 60  # the key from memory too
    person_route(registry, ID).respond(200, json=factories.registry_person())
    assert (await ask(ID)).is_success
    maker = app.state.sessionmaker
    made: list[object] = []

    def counting() -> Any:
        made.append(object())
        return maker()

    app.state.sessionmaker = counting
    try:
        warm = await ask(ID)
        assert warm.status_code == 200, warm.text
        assert made == []
        app.state.policies.invalidate()  # the policies must be read again: a session is made
        cold = await ask(ID)
        assert cold.status_code == 200, cold.text
        assert len(made) == 1
    finally:
        app.state.sessionmaker = maker
