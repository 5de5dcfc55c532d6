"""A route class that answers its own problems (`ProblemRoute`: FHIR's OperationOutcome, the
NHSA envelope, person status's masked path) answers after the request's unit of work has
rolled back: what a refused request wrote before the refusal is not committed with the
problem (it was, while the route caught inside its handler)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.clearing.models import Fund
from service.errors import Conflict, ProblemRoute
from service.fhir.outcome import FhirRoute
from service.persons.masked_route import MaskedPathRoute
from service.routers.nhsa import NhsaRoute
from service.unit_of_work import UnitOfWorkDep


@pytest.mark.parametrize("route_class", [ProblemRoute, FhirRoute, NhsaRoute, MaskedPathRoute])
async def test_a_refusal_after_a_write_rolls_the_write_back(
    app: FastAPI, client: httpx.AsyncClient, route_class: type[ProblemRoute]
) -> None:
    code = f"F-{route_class.__name__.upper()}"

    path = f"/probe-refusal/{route_class.__name__}"  # an app may outlive one case

    async def write_then_refuse(uow: UnitOfWorkDep) -> dict[str, str]:
        uow.session.add(Fund(code=code, fund_type="x", region_code="99", name="n", owner="o"))
        await uow.session.flush()
        raise Conflict("refused after a write")

    # Added as mount_routes adds the service's routes (a router included later is served
    # through FastAPI's own per-router app, not the route's).
    app.router.add_api_route(
        path, write_then_refuse, methods=["POST"], route_class_override=route_class
    )
    answered = await client.post(path)

    assert "refused after a write" in answered.text  # answered by the route, in its format
    if route_class is NhsaRoute:
        assert answered.json()["infcode"] == -1
    else:
        assert answered.status_code == 409
    if route_class is FhirRoute:
        assert answered.json()["resourceType"] == "OperationOutcome"
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(Fund).where(Fund.code == code))).all() == []
