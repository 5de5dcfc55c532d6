"""The plausible date window (ADR 0012) holds on the FHIR interface as on the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.china_time import CHINA_TZ, day_start, today
from service.fhir import systems
from service.settlements.models import Accumulator
from tests import factories
from tests.fhir.conftest import claim, outcome, post


@pytest.mark.parametrize("use", ["claim", "predetermination"])
async def test_a_claim_discharged_in_2999_is_refused_and_opens_no_year(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, use: str
) -> None:
    visit = await factories.make_admission(session)
    await session.commit()
    resource = claim(visit.visit_id, use=use, discharged="2999-03-10T10:00:00+08:00")
    issue = outcome(
        await post(client, hospital_headers, "Claim", resource), 422, "implausible_date"
    )
    assert "discharged_at" in issue["diagnostics"]
    years = (await session.exec(select(Accumulator.year).distinct())).all()
    assert 2999 not in years
    await session.commit()  # SQLite: give the write lock back before the next request
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_an_operation_outcome_never_repeats_a_resident_id_number(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Diagnostics are redacted as problem details are (service/idtext.py)."""
    id_number = factories.resident_id(seq=243)
    response = await client.get(f"/fhir/ClaimResponse/{id_number}", headers=hospital_headers)
    issue = outcome(response, 404, response.json()["issue"][0]["details"]["coding"][0]["code"])
    assert id_number not in response.text
    assert id_number[:6] + "********" + id_number[-4:] in issue["diagnostics"]


def _eligibility(id_number: str, served: str) -> dict[str, object]:
    return {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": id_number}},
        "servicedDate": served,
        "created": "2024-03-10T09:00:00+08:00",
        "insurer": {"display": "演示县医保局"},
    }


@pytest.mark.parametrize("served", ["2026", "2026-11"])
async def test_eligibility_on_a_partial_date_names_serviced_date(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], served: str
) -> None:
    request = _eligibility(factories.resident_id(seq=244), served)
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    issue = outcome(response, 422, "fhir_unsupported_content")
    assert issue["expression"] == ["CoverageEligibilityRequest.servicedDate"]


@pytest.mark.parametrize("served", ["2999-01-01", "1999-12-31"])
async def test_eligibility_outside_the_plausible_window_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], served: str
) -> None:
    request = _eligibility(factories.resident_id(seq=245), served)
    response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
    issue = outcome(response, 422, "implausible_date")
    assert issue["expression"] == ["CoverageEligibilityRequest.servicedDate"]


async def test_a_claim_discharged_today_as_a_date_alone_settles_at_its_created_time(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """A date alone once meant 23:59:59 that day, which had not come on the day of discharge."""
    day = today()
    admitted = day_start(day - timedelta(days=4))
    visit = await factories.make_admission(session, admitted_at=admitted)
    await session.commit()
    created = datetime.now(UTC).astimezone(CHINA_TZ).replace(microsecond=0)
    resource = claim(visit.visit_id, identifier="HIS-TODAY", discharged=day.isoformat())
    resource["billablePeriod"]["start"] = admitted.isoformat()
    resource["created"] = created.isoformat()
    response = await post(client, hospital_headers, "Claim", resource)
    assert response.status_code == 201, response.text
    await session.commit()  # SQLite: give the write lock back before the next request
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    [stored] = listed.json()
    assert datetime.fromisoformat(stored["discharged_at"]) == created
