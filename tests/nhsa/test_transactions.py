"""Each NHSA transaction through HTTP, against the JSON API's answer for the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import respx
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.nhsa.setlinfo import FROM_ANSWER
from service.violations.models import Violation
from tests import factories
from tests.nhsa.conftest import failed, ok, send, settlement_input


def _person(registry: respx.MockRouter, id_number: str, *categories: str, **kw: object) -> None:
    registry.get(f"/v1/persons/{id_number}").respond(
        200, json=factories.registry_person(*categories, **kw)
    )


def _credential(id_number: str) -> dict[str, str]:
    return {"mdtrt_cert_type": "02", "mdtrt_cert_no": id_number}


async def test_1101_answers_identities_of_the_province_file_and_our_eligibility(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=201)
    _person(registry, id_number, "registered_poor", "minimum_living")
    payload = {"data": {**_credential(id_number), "begntime": "2024-03-10 09:00:00"}}
    body = await send(client, hospital_headers, "1101", payload)
    output = ok(body)
    assert output["baseinfo"]["certno"] == id_number[:6] + "********" + id_number[-4:]
    assert len(output["baseinfo"]["psn_no"]) == 30
    assert output["insuinfo"] == [
        {
            "insutype": "390",
            "insuplc_admdvs": factories.COUNTY,
            "psn_type": None,
            "psn_insu_stas": None,
            "balc": None,
        }
    ]
    # The demo province's file (service/nhsa/data/990000.yaml) gives its identity codes.
    assert [(r["psn_idet_type"], r["begntime"], r["endtime"]) for r in output["idetinfo"]] == [
        ("9901", "2016-01-01 00:00:00", None),
        ("9903", "2016-01-01 00:00:00", None),
    ]
    assert output["idetinfo"][0]["memo"] == "registered_poor 建档立卡贫困人口"
    eligibility = output["settlecheck"]
    assert eligibility["source"] == "registry"
    assert eligibility["as_of"] is not None
    assert eligibility["on"] == "2024-03-10"
    assert eligibility["pay_after_treatment"]["eligible"] is True
    assert id_number not in str(body)


async def test_1101_outside_a_province_file_leaves_the_identity_code_empty(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=202)
    _person(registry, id_number, "registered_poor", insured_county="340102")  # Anhui
    payload = {"data": {**_credential(id_number), "begntime": "2018-03-10 09:00:00"}}
    output = ok(await send(client, hospital_headers, "1101", payload))
    assert [r["psn_idet_type"] for r in output["idetinfo"]] == [None]
    assert output["idetinfo"][0]["memo"].startswith("registered_poor")


async def test_1101_refuses_a_credential_it_cannot_resolve(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    payload = {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "an-electronic-voucher"}}
    message = failed(
        await send(client, hospital_headers, "1101", payload), "nhsa_unsupported_value"
    )
    assert "input.data.mdtrt_cert_type" in message


def _admission(id_number: str, visit_id: str, **exp: object) -> dict[str, object]:
    return {
        "mdtrtinfo": {
            "psn_no": "P1",
            "insutype": "390",
            "begntime": "2024-03-01 08:00:00",
            **_credential(id_number),
            "med_type": "21",
            "ipt_no": visit_id,
            "atddr_no": "D01",
            "adm_diag_dscr": "肺炎",
            "exp_content": {"psn_name": "张三", **exp},
        },
        "diseinfo": [{"diag_code": "J18.9", "diag_name": "肺炎"}],
    }


async def test_2401_admits_with_the_deposit_decision_and_2404_reverses(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=203)
    _person(registry, id_number, "registered_poor")
    payload = _admission(id_number, "ZY-2401", deposit_intended="500.00")
    output = ok(await send(client, hospital_headers, "2401", payload))
    assert output["result"] == {"mdtrt_id": "ZY-2401"}
    decision = output["settlecheck"]
    assert decision["pay_after_treatment"]["eligible"] is True
    assert (decision["deposit_intended"], decision["deposit_allowed"]) == ("500.00", "0.00")
    assert decision["replayed"] is False

    again = ok(await send(client, hospital_headers, "2401", payload))  # a resent message
    assert again["settlecheck"]["replayed"] is True
    stored = await client.get("/v1/admissions/ZY-2401", headers=hospital_headers)
    assert stored.json()["state"] == "admitted"
    assert stored.json()["name_masked"] == "张*"

    changed = _admission(id_number, "ZY-2401", deposit_intended="100.00")
    message = failed(await send(client, hospital_headers, "2401", changed), "admission_conflict")
    assert "input.mdtrtinfo.ipt_no" in message

    cancel = {"data": {"mdtrt_id": "ZY-2401", "psn_no": "P1"}}
    output = ok(await send(client, hospital_headers, "2404", cancel))
    result = output["result"]
    assert result["state"] == "reversed"
    assert result["reversed_at"] is not None
    again = ok(await send(client, hospital_headers, "2404", cancel))
    assert again["result"] == result
    assert (output["settlecheck"]["replayed"], again["settlecheck"]["replayed"]) == (False, True)
    stored = await client.get("/v1/admissions/ZY-2401", headers=hospital_headers)
    assert stored.json()["state"] == "reversed"


async def test_2401_needs_the_insured_place_and_a_known_medical_type(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    id_number = factories.resident_id(seq=204)
    payload = _admission(id_number, "ZY-X")
    message = failed(
        await send(client, hospital_headers, "2401", payload, insuplc_admdvs=""),
        "nhsa_invalid_input",
    )
    assert "(field: insuplc_admdvs)" in message
    payload["mdtrtinfo"]["med_type"] = "11"  # type: ignore[index]
    message = failed(
        await send(client, hospital_headers, "2401", payload), "nhsa_unsupported_value"
    )
    assert "input.mdtrtinfo.med_type" in message


async def test_2303_previews_and_stores_nothing(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    output = ok(await send(client, hospital_headers, "2303", settlement_input(visit.visit_id)))
    assert output["setlinfo"]["setl_id"] is None
    assert output["setlinfo"]["medfee_sumamt"] == "20500.00"
    assert output["settlecheck"]["status"] == "preview"
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_2304_answers_what_the_json_api_stores_and_replays_on_medins_setl_id(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id, medins_setl_id="JS-0001")
    output = ok(await send(client, hospital_headers, "2304", payload))
    info, detail = output["setlinfo"], output["setldetail"]
    stored = (
        await client.get(f"/v1/settlements/{info['setl_id']}", headers=hospital_headers)
    ).json()
    assert {name: info[name] for name in FROM_ANSWER} == {
        name: stored[name] for name in FROM_ANSWER
    }
    assert info["medins_setl_id"] == stored["his_settlement_id"] == "JS-0001"
    assert info["psn_cash_pay"] == info["psn_part_amt"]
    assert info["acct_pay"] == "0.00"
    funds = sum(Decimal(row["fund_payamt"]) for row in detail)
    assert funds == Decimal(info["fund_pay_sumamt"]) - Decimal(info["hosp_part_amt"])
    assert Decimal(info["fund_pay_sumamt"]) + Decimal(info["psn_part_amt"]) == Decimal("20500.00")
    codes = {row["fund_pay_type"]: row["fund_payamt"] for row in detail}
    assert codes["390100"] == info["hifp_pay"]
    assert codes["610100"] == info["maf_pay"]
    assert "起付" in detail[0]["setl_proc_info"]

    again = ok(await send(client, hospital_headers, "2304", payload))  # resent, new msgid
    assert again["setlinfo"]["setl_id"] == info["setl_id"]
    assert again["settlecheck"]["replayed"] is True

    changed = settlement_input(visit.visit_id, medins_setl_id="JS-0001", medfee_sumamt="20600.00")
    changed["data"]["inscp_scp_amt"] = "20100.00"
    failed(await send(client, hospital_headers, "2304", changed), "settlement_conflict")


async def test_2304_without_medins_setl_id_is_keyed_on_the_msgid(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id)
    info = ok(await send(client, hospital_headers, "2304", payload, msgid="MSG-77"))["setlinfo"]
    assert info["medins_setl_id"] == "MSG-77"


async def test_2304_names_the_platform_field_of_a_bill_that_does_not_add_up(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id, inscp_scp_amt="19000.00")
    message = failed(await send(client, hospital_headers, "2304", payload), "invalid_bill")
    assert message.endswith("(field: input.data.medfee_sumamt)")
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_2305_answers_the_compensating_record_and_is_idempotent(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    settled = ok(await send(client, hospital_headers, "2304", settlement_input(visit.visit_id)))
    setl_id = settled["setlinfo"]["setl_id"]
    cancel = {"data": {"mdtrt_id": visit.visit_id, "setl_id": setl_id, "psn_no": "P1"}}
    output = ok(await send(client, hospital_headers, "2305", cancel))
    info = output["setlinfo"]
    assert info["medfee_sumamt"] == "-20500.00"
    assert info["hifp_pay"] == "-" + settled["setlinfo"]["hifp_pay"]
    assert info["setl_id"] == setl_id  # the one reversed; the reversal's own id is ours
    assert output["settlecheck"]["status"] == "reversed"
    reversal = output["settlecheck"]["reversal"]
    assert reversal["his_reversal_id"] == f"2305:{setl_id}"
    again = ok(await send(client, hospital_headers, "2305", cancel))
    assert again["settlecheck"]["reversal"]["id"] == reversal["id"]
    assert (output["settlecheck"]["replayed"], again["settlecheck"]["replayed"]) == (False, True)
    stored = await client.get(f"/v1/settlements/{setl_id}", headers=hospital_headers)
    assert stored.json()["status"] == "reversed"

    other = {"data": {"mdtrt_id": "ANOTHER", "setl_id": setl_id}}
    failed(await send(client, hospital_headers, "2305", other), "settlement_not_found")
    for setl_id in ("99999999999999999999", "²", "⁵"):
        garbage = {"data": {"mdtrt_id": visit.visit_id, "setl_id": setl_id}}
        failed(await send(client, hospital_headers, "2305", garbage), "settlement_not_found")


async def test_2305_of_another_hospitals_settlement_names_setl_id_and_reverses_nothing(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    other_hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    """It said `[settlement_not_found] no settlement 1 that you may see` with no field, where
    an id that names no settlement at all says `(field: input.data.setl_id)`."""
    visit = await factories.make_admission(session)
    settled = ok(await send(client, hospital_headers, "2304", settlement_input(visit.visit_id)))
    setl_id = settled["setlinfo"]["setl_id"]
    cancel = {"data": {"mdtrt_id": visit.visit_id, "setl_id": setl_id}}
    body = await send(
        client,
        other_hospital_headers,
        "2305",
        cancel,
        fixmedins_code=factories.NEIGHBOUR_HOSPITAL,
        mdtrtarea_admvs=factories.NEIGHBOUR_COUNTY,  # its own place: only the settlement is not
    )
    assert failed(body, "settlement_not_found").endswith("(field: input.data.setl_id)")
    stored = await client.get(f"/v1/settlements/{setl_id}", headers=hospital_headers)
    assert stored.json()["status"] == "settled"


async def test_3101_lists_what_a_settlement_would_book_and_books_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    visit = await factories.make_admission(session)
    encounter = {
        "mdtrt_id": visit.visit_id,
        "medins_id": factories.COUNTY_HOSPITAL,
        "dscg_date": "2024-03-10 10:00:00",
        "medfee_sumamt": "20000.00",
        "ownpay_amt": "4000.00",  # 20% out of catalogue: over the secondary hospitals' limit
        "fsi_order_dtos": [{"rx_id": "R1", "hilist_code": "X"}],
    }
    payload = {
        "data": {
            "patient_dtos": [
                {
                    "patn_id": "P1",
                    "curr_mdtrt_id": visit.visit_id,
                    "fsi_encounter_dtos": [encounter],
                }
            ],
            "trig_scen": "5",
        }
    }
    output = ok(await send(client, hospital_headers, "3101", payload))
    rules = {r["rule_id"]: r for r in output["result"]}
    assert "OUT_OF_POLICY_OVER_LIMIT" in rules
    found = rules["OUT_OF_POLICY_OVER_LIMIT"]
    assert found["rule_name"] == "目录外费用超限"
    assert found["jr_id"] == f"{visit.visit_id}:OUT_OF_POLICY_OVER_LIMIT"
    assert (found["patn_id"], found["mdtrt_id"]) == ("P1", visit.visit_id)
    assert "0.2000" in found["vola_evid"]
    assert {"vola_cont", "sev_deg", "vola_amt"} <= set(found)
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []
    async with app.state.sessionmaker() as fresh:
        assert (await fresh.exec(select(Violation))).all() == []


async def test_2305_that_cannot_reverse_names_setl_id_as_the_json_api_refuses_it(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """A refusal of the settlement named (a later stage still settled; reversed already with
    another reason) said which settlement in the JSON API's path, and in 2305 named no field."""
    visit = await factories.make_admission(session)
    first = settlement_input(visit.visit_id, mid_setl_flag="1", medins_setl_id="ST-1")
    first["data"]["exp_content"] = {"dscg_time": "2024-03-05 10:00:00"}
    stage = ok(await send(client, hospital_headers, "2304", first))["setlinfo"]["setl_id"]
    ok(await send(client, hospital_headers, "2304", settlement_input(visit.visit_id)))
    by_json = await client.post(
        f"/v1/settlements/{stage}/reversal", json={"reason": "wrong"}, headers=hospital_headers
    )
    assert (by_json.status_code, by_json.json()["code"]) == (409, "later_stage_active")
    cancel = {"data": {"mdtrt_id": visit.visit_id, "setl_id": stage}}
    body = await send(client, hospital_headers, "2305", cancel)
    assert failed(body, "later_stage_active").endswith("(field: input.data.setl_id)")

    other = await factories.make_admission(session)
    settled = ok(await send(client, hospital_headers, "2304", settlement_input(other.visit_id)))
    setl_id = settled["setlinfo"]["setl_id"]
    reversed_ = await client.post(
        f"/v1/settlements/{setl_id}/reversal", json={"reason": "wrong"}, headers=hospital_headers
    )
    assert reversed_.status_code == 201, reversed_.text
    cancel = {"data": {"mdtrt_id": other.visit_id, "setl_id": setl_id}}
    body = await send(client, hospital_headers, "2305", cancel)
    assert failed(body, "settlement_already_reversed").endswith("(field: input.data.setl_id)")


async def test_2304_settles_a_stage_with_the_mid_settlement_flag(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    staged = settlement_input(visit.visit_id, mid_setl_flag="1")
    info = ok(await send(client, hospital_headers, "2304", staged, msgid="MID-1"))["setlinfo"]
    assert info["mid_setl_flag"] == "1"
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert [(s["stage"], s["mid_setl_flag"]) for s in listed.json()] == [(1, "1")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("medfee_sumamt", "-20500.00"),
        ("inscp_scp_amt", "-1.00"),
        ("fulamt_ownpay_amt", "-500.00"),
        ("overlmt_selfpay", "-0.01"),
        ("preselfpay_amt", -1),
    ],
)
async def test_2304_refuses_a_negative_amount_naming_it(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
    field: str,
    value: object,
) -> None:
    """A bill's amounts cannot be negative (a reversal is 2305, never a negative 2304); only
    3201's totals are signed (tests/nhsa/test_statement.py)."""
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id, **{field: value})
    message = failed(await send(client, hospital_headers, "2304", payload), "nhsa_invalid_input")
    assert message.endswith(f"(field: input.data.{field})"), message


async def test_2401_refuses_a_negative_deposit_naming_it(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], registry: respx.MockRouter
) -> None:
    id_number = factories.resident_id(seq=207)
    _person(registry, id_number, "registered_poor")
    payload = _admission(id_number, "ZY-NEG", deposit_intended="-100.00")
    message = failed(await send(client, hospital_headers, "2401", payload), "nhsa_invalid_input")
    assert message.endswith("(field: input.mdtrtinfo.exp_content.deposit_intended)"), message


async def test_2303_and_2304_refuse_a_credential_that_is_not_the_visits_person(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
) -> None:
    admitted = factories.resident_id(seq=11)
    other = factories.resident_id(seq=12)
    visit = await factories.make_admission(
        session, resident=admitted, person_key=app.state.id_hasher.key_of(admitted)
    )
    for infno in ("2303", "2304"):
        payload = settlement_input(visit.visit_id, medins_setl_id="JS-PSN", **_credential(other))
        message = failed(
            await send(client, hospital_headers, infno, payload), "visit_of_another_person"
        )
        assert message.endswith("(field: input.data.mdtrt_cert_no)")
        assert other not in message
    by_certno = settlement_input(
        visit.visit_id, medins_setl_id="JS-PSN", psn_cert_type="01", certno=other
    )
    message = failed(
        await send(client, hospital_headers, "2304", by_certno), "visit_of_another_person"
    )
    assert message.endswith("(field: input.data.certno)")
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []

    # The visit's own person settles, and a resend naming another person is still refused.
    own = settlement_input(visit.visit_id, medins_setl_id="JS-PSN", **_credential(admitted))
    settled = ok(await send(client, hospital_headers, "2304", own))["setlinfo"]
    assert settled["certno"] == admitted[:6] + "*" * 8 + admitted[-4:]
    payload = settlement_input(visit.visit_id, medins_setl_id="JS-PSN", **_credential(other))
    failed(await send(client, hospital_headers, "2304", payload), "visit_of_another_person")


async def test_1101_from_a_snapshot_older_than_the_policy_allows_is_unknown(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
) -> None:
    """The registry down and the snapshot a year old where the policy allows 30 days: no
    identities, no eligibility (ADR 0011, addendum)."""
    limit = factories.county_with_snapshot_limit("2026-03-01", 30)
    await factories.load_policy(client, admin_headers, limit)
    id_number = factories.resident_id(seq=231)
    listed = factories.roster_person(id_number, "minimum_living")
    await factories.seed_snapshot(app, listed, taken_at=datetime(2025, 3, 1, tzinfo=UTC))
    registry.get(f"/v1/persons/{id_number}").respond(503)
    payload = {"data": {**_credential(id_number), "begntime": "2026-03-10 09:00:00"}}
    output = ok(await send(client, hospital_headers, "1101", payload))
    assert (output["insuinfo"], output["idetinfo"]) == ([], [])
    eligibility = output["settlecheck"]
    assert eligibility["source"] == "unknown"
    assert (eligibility["registered"], eligibility["covered"]) == (None, None)
    assert eligibility["pay_after_treatment"] == {
        "eligible": None,
        "reasons": ["STATUS_UNKNOWN", "SNAPSHOT_TOO_OLD"],
    }
    assert eligibility["source_detail"]["snapshot_taken_at"].startswith("2025-03-01")
    assert "30 days" in eligibility["source_detail"]["unknown_reason"]


async def test_2304_resent_after_its_2305_is_refused_as_reversed_not_answered_as_settled(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """A 2304 resent (the same medins_setl_id and bill) after its settlement was reversed by
    2305 answered infcode 0 and the settlement's positive setlinfo: a HIS reads that as
    settled and charges the patient's share of a settlement that no longer stands. The JSON
    API answers the replay with `status: reversed` and FHIR with a cancelled ClaimResponse;
    the platform's setlinfo has no such field, so 2304 refuses, naming the reversal."""
    visit = await factories.make_admission(session)
    message = settlement_input(visit.visit_id, medins_setl_id="HIS-R-1")
    settled = ok(await send(client, hospital_headers, "2304", message))["setlinfo"]
    setl_id = settled["setl_id"]
    cancel = {"data": {"mdtrt_id": visit.visit_id, "setl_id": setl_id}}
    ok(await send(client, hospital_headers, "2305", cancel))

    body = await send(client, hospital_headers, "2304", message)
    error = failed(body, "settlement_reversed")
    assert f"settlement {setl_id} " in error
    assert error.endswith("(field: input.data.medins_setl_id)")
    by_json = await client.get(f"/v1/settlements/{setl_id}", headers=hospital_headers)
    assert by_json.json()["status"] == "reversed"  # the same truth as the JSON API's
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert [s["id"] for s in listed.json()] == [int(setl_id)]  # nothing settled twice
    # A resend that was no replay (another body under the id) stays the conflict it was.
    changed = settlement_input(visit.visit_id, medins_setl_id="HIS-R-1", medfee_sumamt="20600.00")
    changed["data"]["fulamt_ownpay_amt"] = "600.00"
    failed(await send(client, hospital_headers, "2304", changed), "settlement_conflict")
    # A new settlement id settles the reopened stay again.
    again = settlement_input(visit.visit_id, medins_setl_id="HIS-R-2")
    assert ok(await send(client, hospital_headers, "2304", again))["setlinfo"]["setl_id"] != setl_id


async def test_2304_resent_before_any_reversal_still_replays(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    message = settlement_input(visit.visit_id, medins_setl_id="HIS-R-3")
    first = ok(await send(client, hospital_headers, "2304", message))
    again = ok(await send(client, hospital_headers, "2304", message))
    assert again["setlinfo"]["setl_id"] == first["setlinfo"]["setl_id"]
    assert (first["settlecheck"]["replayed"], again["settlecheck"]["replayed"]) == (False, True)
