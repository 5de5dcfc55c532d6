"""Whose insured county decides: the registry's (or the roster snapshot's) when it knows the
person, the HIS's only when nobody else does. A HIS that sends the wrong county must not turn an
in-county patient into a "not eligible" one (fail-safe eligibility); the mismatch stays a warning
and a finding, and the settlement of the stay uses the county the admission was decided on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import respx
from fastapi import FastAPI
from sqlmodel import select

from service.violations.models import Violation
from tests import factories
from tests.factories import person_route, roster_person, seed_snapshot
from tests.nhsa.conftest import ok, send

WRONG = factories.NEIGHBOUR_COUNTY  # what the HIS sends; the person is insured in COUNTY


async def _admit(client: httpx.AsyncClient, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = factories.admission_request(insured_county=WRONG, **kw)
    response = await client.post("/v1/admissions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _decided_in_county(body: dict[str, Any]) -> None:
    assert body["insured_county"] == factories.COUNTY
    assert body["location"] == "in_county"
    assert body["pay_after_treatment"]["eligible"] is True
    assert body["deposit_allowed"] == "0.00"
    assert body["deposit_basis"] == "eligible"
    assert "INSURED_COUNTY_MISMATCH" in [w["code"] for w in body["warnings"]]


async def test_the_registrys_county_decides_and_the_his_value_is_only_a_warning(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=801)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    body = await _admit(client, hospital_headers, id_number=id_number)
    _decided_in_county(body)
    assert body["policy"]["region_code"] != "990000"  # the county's policy, not the province's
    mismatch = next(w for w in body["warnings"] if w["code"] == "INSURED_COUNTY_MISMATCH")
    assert f"reports insured county {WRONG}" in mismatch["message"]
    assert f"the registry says {factories.COUNTY}" in mismatch["message"]
    # One finding: the mismatch. No IMPROPER_REFERRAL for a patient admitted in their county.
    assert [v["rule_code"] for v in body["violations"]] == ["REGISTRY_INCONSISTENT"]
    async with app.state.sessionmaker() as s:
        [violation] = (await s.exec(select(Violation))).all()
    assert violation.evidence["reported"] == WRONG
    assert violation.evidence["registry"] == factories.COUNTY
    assert violation.evidence["insured_county"] == factories.COUNTY


async def test_the_registrys_county_makes_an_out_of_county_stay_out_of_county(
    client: httpx.AsyncClient,
    other_hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """The other way round: the HIS of a 990103 hospital says 990103, the registry 990102."""
    id_number = factories.resident_id(seq=802)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    body = await _admit(client, other_hospital_headers, id_number=id_number)
    assert body["insured_county"] == factories.COUNTY
    assert body["location"] == "out_of_county"
    assert "IMPROPER_REFERRAL" in [v["rule_code"] for v in body["violations"]]


async def test_the_snapshots_county_decides_when_the_registry_is_down(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=803)
    await seed_snapshot(
        app,
        roster_person(id_number, "registered_poor"),
        taken_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    person_route(registry, id_number).respond(503)
    body = await _admit(client, hospital_headers, id_number=id_number)
    assert body["source"]["kind"] == "snapshot"
    _decided_in_county(body)


async def test_the_his_county_stands_when_nobody_knows_the_person(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=804)
    person_route(registry, id_number).respond(503)  # and no snapshot is loaded
    body = await _admit(client, hospital_headers, id_number=id_number)
    assert body["source"]["kind"] == "unknown"
    assert body["insured_county"] == WRONG
    assert body["location"] == "out_of_county"
    assert body["pay_after_treatment"]["eligible"] is None


async def test_the_stay_settles_under_the_county_it_was_admitted_on(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    id_number = factories.resident_id(seq=805)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    admitted = await _admit(client, hospital_headers, id_number=id_number)
    settled = await factories.settle(
        client,
        hospital_headers,
        factories.settlement_request("V-0001", discharged_at="2026-03-15T10:00:00+08:00"),
    )
    assert settled["insured_county"] == factories.COUNTY
    assert settled["policy"]["region_code"] == admitted["policy"]["region_code"]
    assert settled["in_pooling_region"] is True


async def test_nhsa_2401_decides_on_the_registrys_county_too(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=806)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    payload = {
        "mdtrtinfo": {
            "psn_no": "P1",
            "insutype": "390",
            "begntime": "2026-03-10 08:00:00",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": id_number,
            "med_type": "21",
            "ipt_no": "ZY-CTY",
            "atddr_no": "D01",
            "adm_diag_dscr": "肺炎",
            "exp_content": {"psn_name": "王明"},
        },
        "diseinfo": [{"diag_code": "J18.9", "diag_name": "肺炎"}],
    }
    output = ok(await send(client, hospital_headers, "2401", payload, insuplc_admdvs=WRONG))
    decision = output["settlecheck"]
    assert decision["location"] == "in_county"
    assert decision["pay_after_treatment"]["eligible"] is True
    assert decision["deposit_allowed"] == "0.00"
    assert "INSURED_COUNTY_MISMATCH" in [w["code"] for w in decision["warnings"]]
