"""Privacy through the NHSA and FHIR interfaces: the resident ID number a caller sends is never
answered, logged or stored in full — also when the registry fails or the message is refused."""

from __future__ import annotations

import io
import logging

import httpx
import respx
import sqlalchemy as sa
from fastapi import FastAPI

from service.base import SQLModel
from service.fhir import systems
from tests import factories
from tests.fhir.conftest import post
from tests.nhsa.conftest import send
from tests.proof.test_privacy import REGISTRY, written_logs  # noqa: F401  (fixture)

PEOPLE = [factories.resident_id(seq=n) for n in (811, 812, 813)]


async def test_no_full_id_number_leaves_through_nhsa_or_fhir(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    written_logs: tuple[io.StringIO, list[logging.LogRecord]],  # noqa: F811
) -> None:
    stream, records = written_logs
    answers: list[str] = []
    with respx.mock(base_url=REGISTRY, assert_all_called=False) as router:
        router.get(f"/v1/persons/{PEOPLE[0]}").respond(
            200, json=factories.registry_person("registered_poor")
        )
        router.get(f"/v1/persons/{PEOPLE[1]}").respond(503, json={"error": f"down on {PEOPLE[1]}"})
        router.get(f"/v1/persons/{PEOPLE[2]}").respond(404, json={"code": "not_registered"})
        for n, person in enumerate(PEOPLE):
            credential = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person}
            answers.append(str(await send(client, hospital_headers, "1101", {"data": credential})))
            admission = {
                "mdtrtinfo": {
                    **credential,
                    "begntime": "2024-03-01 08:00:00",
                    "med_type": "21",
                    "ipt_no": f"PRIV-{n}",
                }
            }
            answers.append(str(await send(client, hospital_headers, "2401", admission)))
            refused = {"mdtrtinfo": {**credential, "med_type": "99"}}
            answers.append(str(await send(client, hospital_headers, "2401", refused)))
            request = {
                "resourceType": "CoverageEligibilityRequest",
                "status": "active",
                "purpose": ["validation"],
                "patient": {"identifier": {"system": systems.RESIDENT_ID, "value": person}},
                "created": "2024-03-01",
                "insurer": {"display": "x"},
            }
            response = await post(client, hospital_headers, "CoverageEligibilityRequest", request)
            assert response.status_code < 500, response.text
            answers.append(response.text)
    # The written log, and the service's own records before redaction (httpx's request lines
    # carry the registry URL and are redacted by the formatter: the written log checks that).
    own = [
        r.getMessage() + str(getattr(r, "fields", ""))
        for r in records
        if r.name.startswith("settlecheck")
    ]
    texts = [*answers, stream.getvalue(), *own]
    async with app.state.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await conn.execute(sa.select(table))).all()
            texts.extend(str(row) for row in rows)
    for person in PEOPLE:
        for text in texts:
            assert person not in text
            assert person[:6] + person[8:17] not in text  # the 15-character old form
