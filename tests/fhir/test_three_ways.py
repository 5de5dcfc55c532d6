"""One bill settled three ways — the JSON API, NHSA 2304 and a FHIR Claim — on three visits of
three people in the same situation: the answers agree to the fen. And twenty concurrent
identical conditional creates of one Claim make one settlement."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from service.fhir import systems
from service.settlements.models import Settlement
from tests import factories
from tests.fhir.conftest import claim, fhir_body, post
from tests.nhsa.conftest import ok, send, settlement_input

BILL = {
    "total": "20500.00",
    "in_policy": "20000.00",
    "out_of_policy": "500.00",
    "out_of_policy_breakdown": {
        "full_self_pay": "500.00",
        "over_limit_self_pay": "0.00",
        "pre_self_pay": "0.00",
    },
}
FUNDS = {
    "basic_insurance": "hifp_pay",
    "critical_illness": "hifmi_pay",
    "medical_aid": "maf_pay",
    "supplementary": "hifes_pay",
}


def fen(value: str | Decimal) -> int:
    return int(Decimal(value) * 100)


async def test_the_same_bill_settles_the_same_through_json_nhsa_and_fhir(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visits = [
            await factories.make_admission(
                s, resident=factories.resident_id(region=factories.COUNTY, seq=500 + n)
            )
            for n in range(3)
        ]
    json_visit, nhsa_visit, fhir_visit = (v.visit_id for v in visits)

    made = await client.post(
        "/v1/settlements",
        json={
            "visit_id": json_visit,
            "his_settlement_id": "THREE-1",
            "discharged_at": "2024-03-10T10:00:00+08:00",
            "bill": BILL,
        },
        headers=hospital_headers,
    )
    assert made.status_code == 201, made.text
    by_json = made.json()

    nhsa = ok(
        await send(
            client, hospital_headers, "2304", settlement_input(nhsa_visit, medins_setl_id="THREE-2")
        )
    )
    info = nhsa["setlinfo"]

    response = await post(
        client, hospital_headers, "Claim", claim(fhir_visit, identifier="THREE-3")
    )
    assert response.status_code == 201, response.text
    by_fhir = fhir_body(response, "ClaimResponse")
    adjudication = {
        (a["category"]["coding"][0]["system"], a["category"]["coding"][0]["code"]): fen(
            a["amount"]["value"]
        )
        for a in by_fhir["item"][0]["adjudication"]
    }

    # The patient's share, every fund, the bill: the same fen three ways.
    assert fen(by_json["psn_part_amt"]) == fen(info["psn_part_amt"])
    assert fen(by_json["psn_part_amt"]) == adjudication[(systems.ADJUDICATION, "copay")]
    assert fen(by_json["fund_pay_sumamt"]) == fen(info["fund_pay_sumamt"])
    assert fen(by_json["fund_pay_sumamt"]) == adjudication[(systems.ADJUDICATION, "benefit")]
    assert fen(by_json["medfee_sumamt"]) == fen(info["medfee_sumamt"])
    assert fen(by_json["medfee_sumamt"]) == adjudication[(systems.ADJUDICATION, "submitted")]
    for fund, field in FUNDS.items():
        assert fen(by_json[field]) == fen(info[field]), fund
        assert fen(by_json[field]) == adjudication.get((systems.FUND, fund), 0), fund
    by_layer = {
        layer["fund_type"]: fen(layer["amount"]) for layer in by_json["layers"] if layer["applied"]
    }
    nhsa_rows = {row["fund_pay_type"]: fen(row["fund_payamt"]) for row in nhsa["setldetail"]}
    assert sum(nhsa_rows.values()) == sum(by_layer.values())
    assert nhsa_rows["390100"] == by_layer["basic_insurance"]
    assert nhsa_rows["610100"] == by_layer["medical_aid"]
    assert by_json["totals"] == nhsa["settlecheck"]["totals"]
    assert fen(by_json["psn_part_amt"]) + fen(by_json["fund_pay_sumamt"]) == 20500_00


@pytest.mark.postgres
async def test_twenty_concurrent_conditional_creates_make_one_settlement(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    resource = claim(visit.visit_id, identifier="RACE-1")
    condition = {"If-None-Exist": "identifier=urn:his:settlement|RACE-1"}

    async def one() -> httpx.Response:
        return await post(client, hospital_headers, "Claim", resource, **condition)

    responses = await asyncio.gather(*(one() for _ in range(20)))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 19}, [
        r.text for r in responses if r.status_code not in (200, 201)
    ]
    ids = {fhir_body(r, "ClaimResponse")["id"] for r in responses}
    assert len(ids) == 1
    async with app.state.sessionmaker() as s:
        rows = (await s.exec(select(Settlement).where(Settlement.visit_id == visit.visit_id))).all()
    assert [str(row.id) for row in rows] == list(ids)


async def test_a_designated_disease_reaches_the_engine_three_ways(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
) -> None:
    """JSON `disease`, NHSA 2304 `exp_content.disease`, a FHIR Claim's diagnosis coded in our
    disease system: the same designated-disease ratio, (20000 - 1000) x 0.90 = 17100."""
    loaded = await client.post(
        "/v1/policies", json={"source_text": factories.wired_policy()}, headers=admin_headers
    )
    assert loaded.status_code == 201, loaded.text
    async with app.state.sessionmaker() as s:
        visits = [
            await factories.make_admission(
                s, resident=factories.resident_id(region=factories.COUNTY, seq=520 + n)
            )
            for n in range(3)
        ]
    json_visit, nhsa_visit, fhir_visit = (v.visit_id for v in visits)
    made = await client.post(
        "/v1/settlements",
        json={
            "visit_id": json_visit,
            "his_settlement_id": "DIS-1",
            "discharged_at": "2024-03-10T10:00:00+08:00",
            "bill": BILL,
            "disease": "childhood_leukemia",
        },
        headers=hospital_headers,
    )
    assert made.status_code == 201, made.text
    payload = settlement_input(
        nhsa_visit,
        medins_setl_id="DIS-2",
        exp_content={"dscg_time": "2024-03-10 10:00:00", "disease": "childhood_leukemia"},
    )
    nhsa = ok(await send(client, hospital_headers, "2304", payload))
    resource = claim(fhir_visit, identifier="DIS-3")
    resource["diagnosis"] = [
        {
            "sequence": 1,
            "diagnosisCodeableConcept": {
                "coding": [{"system": systems.DISEASE, "code": "childhood_leukemia"}]
            },
        }
    ]
    response = await post(client, hospital_headers, "Claim", resource)
    assert response.status_code == 201, response.text
    adjudication = {
        a["category"]["coding"][0]["code"]: fen(a["amount"]["value"])
        for a in fhir_body(response, "ClaimResponse")["item"][0]["adjudication"]
    }
    assert made.json()["hifp_pay"] == nhsa["setlinfo"]["hifp_pay"] == "17100.00"
    assert adjudication["basic_insurance"] == 17100_00
