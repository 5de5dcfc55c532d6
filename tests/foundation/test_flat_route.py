"""FlatRoute (service/flat_route.py) answers as FastAPI's own route would: the same values, the
same 422 details for every bad parameter, the key checked before the parameters; and a route it
cannot serve the same way is refused when the app is built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from service.flat_route import FlatRoute
from service.unit_of_work import get_unit_of_work


async def _caller(request: Request) -> str:
    key = request.headers.get("x-key")
    if key is None:
        raise HTTPException(401, "no key")
    return key


async def _app_name(request: Request) -> str:
    return str(request.app.title)


Caller = Annotated[str, Depends(_caller)]
AppName = Annotated[str, Depends(_app_name)]


def _app() -> FastAPI:
    app = FastAPI(title="parity")
    for prefix, route_class in (("/plain", APIRoute), ("/flat", FlatRoute), ("/direct", FlatRoute)):
        router = APIRouter(prefix=prefix, route_class=route_class)

        @router.get("/{item}/look")
        async def look(
            item: str,
            caller: Caller,
            name: AppName,
            on: date | None = Query(default=None),
            limit: Annotated[int, Query(ge=1, le=50)] = 10,
            kind: Annotated[str, Query(alias="type", pattern="^[a-z]+$")] = "any",
            needed: int = Query(),
        ) -> Response:
            return JSONResponse(
                {
                    "item": item,
                    "caller": caller,
                    "name": name,
                    "on": on.isoformat() if on else None,
                    "limit": limit,
                    "kind": kind,
                    "needed": needed,
                }
            )

        if prefix == "/direct":  # as service/routers adds them: the route's own app serves
            app.router.routes.extend(router.routes)
        else:  # FastAPI serves an included route through its own request_response
            app.include_router(router)
    return app


QUERIES = [
    {"needed": "3"},
    {"needed": "3", "on": "2026-03-10", "limit": "50", "type": "inpatient"},
    {},  # the required one missing
    {"needed": "x"},
    {"needed": "3", "on": "2026-02-30"},
    {"needed": "3", "on": ""},
    {"needed": "3", "limit": "0"},
    {"needed": "3", "limit": "51", "on": "nope", "type": "UPPER"},
]


@pytest.mark.parametrize("query", QUERIES)
async def test_a_flat_route_answers_as_fastapis_route_does(query: dict[str, str]) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        plain = await client.get("/plain/a1/look", params=query, headers={"x-key": "k"})
        flat = await client.get("/flat/a1/look", params=query, headers={"x-key": "k"})
        direct = await client.get("/direct/a1/look", params=query, headers={"x-key": "k"})
    assert flat.status_code == direct.status_code == plain.status_code
    assert flat.json() == direct.json() == plain.json()
    if plain.status_code == 200:
        assert flat.json()["caller"] == "k"
        assert flat.json()["name"] == "parity"
    else:
        assert plain.status_code == 422
        assert flat.json()["detail"]  # the same non-empty list of located errors


async def test_the_key_is_checked_before_the_parameters() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        plain = await client.get("/plain/a1/look", params={"needed": "x"})
        flat = await client.get("/flat/a1/look", params={"needed": "x"})
        direct = await client.get("/direct/a1/look", params={"needed": "x"})
    assert plain.status_code == flat.status_code == direct.status_code == 401
    assert flat.json() == direct.json() == plain.json()


def _refused(build: Any) -> str:
    router = APIRouter(route_class=FlatRoute)
    with pytest.raises(TypeError) as refused:
        build(router)
    return str(refused.value)


async def _nested(caller: Caller) -> str:
    return caller


def _sync(request: Request) -> str:
    return "sync"


async def _session(request: Request) -> AsyncIterator[str]:
    yield "a generator dependency that is not the unit of work"


class _Model(BaseModel):
    n: int


def test_a_route_a_flat_route_cannot_serve_alike_is_refused_when_built() -> None:
    def body(router: APIRouter) -> None:
        @router.post("/b")
        async def b(payload: dict[str, int]) -> Response:
            return Response()

    def nested(router: APIRouter) -> None:
        @router.get("/n")
        async def n(x: Annotated[str, Depends(_nested)]) -> Response:
            return Response()

    def sync(router: APIRouter) -> None:
        @router.get("/s")
        async def s(x: Annotated[str, Depends(_sync)]) -> Response:
            return Response()

    def many(router: APIRouter) -> None:
        @router.get("/m")
        async def m(tag: list[str] = Query(default=[])) -> Response:
            return Response()

    def raw(router: APIRouter) -> None:
        @router.get("/r")
        async def r(request: Request) -> Response:
            return Response()

    assert "its body is not one pydantic model" in _refused(body)
    assert "'_nested' takes more than the request" in _refused(nested)
    assert "'x' is not an async function" in _refused(sync)
    assert "tag takes several values" in _refused(many)
    assert "the request itself" in _refused(raw)

    def limited(router: APIRouter) -> None:
        @router.get("/l", max_body_size=1024)
        async def lim() -> Response:
            return Response()

    assert "a body size limit" in _refused(limited)


async def _generator(x: Annotated[str, Depends(_session)]) -> Response:
    return Response()


async def _two_bodies(a: _Model, b: _Model) -> Response:
    return Response()


async def _optional_body(a: _Model | None = None) -> Response:
    return Response()


async def _request_scoped_unit(
    uow: Annotated[Any, Depends(get_unit_of_work, scope="request")],
) -> Response:
    return Response()


async def _two_units(
    a: Annotated[Any, Depends(get_unit_of_work, scope="function", use_cache=False)],
    b: Annotated[Any, Depends(get_unit_of_work, scope="function", use_cache=False)],
) -> Response:
    return Response()


@pytest.mark.parametrize(
    ("endpoint", "refusal"),
    [
        (_generator, "'x' is not an async function"),  # a generator other than the unit
        (_two_bodies, "its body is not one pydantic model"),
        (_optional_body, "its body is not one pydantic model"),
        (_request_scoped_unit, "the unit of work other than once as UnitOfWorkDep"),
        (_two_units, "the unit of work other than once as UnitOfWorkDep"),
    ],
)
def test_a_body_or_generator_a_flat_route_cannot_serve_alike_is_refused(
    endpoint: Any, refusal: str
) -> None:
    assert refusal in _refused(lambda router: router.post("/x")(endpoint))


async def test_an_endpoint_that_returns_a_model_is_a_mistake_not_an_answer() -> None:
    app = FastAPI()
    router = APIRouter(route_class=FlatRoute)

    @router.get("/d")
    async def d() -> Any:
        return {"not": "a response"}

    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(TypeError, match="must return a Response"):
            await client.get("/d")
