"""The envelope: who may send, which numbers are offered, and how problems are answered."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.exc import DataError
from sqlmodel.ext.asyncio.session import AsyncSession

from service.routers.nhsa import NhsaRoute
from tests import factories
from tests.nhsa.conftest import envelope, failed, ok, send, settlement_input


async def test_a_message_for_another_institution_is_refused_and_does_nothing(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id)
    other = factories.NEIGHBOUR_HOSPITAL
    message = failed(
        await send(client, hospital_headers, "2304", payload, fixmedins_code=other),
        "nhsa_wrong_institution",
    )
    assert message.endswith("(field: fixmedins_code)")
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


@pytest.mark.parametrize("area", ["990103", "990200", "980102", "000000"])
async def test_a_message_from_another_place_of_treatment_is_refused_and_does_nothing(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, area: str
) -> None:
    """就医地 names where the hospital treats: its county, prefecture or province."""
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id)
    message = failed(
        await send(client, hospital_headers, "2304", payload, mdtrtarea_admvs=area),
        "nhsa_wrong_area",
    )
    assert message.endswith("(field: mdtrtarea_admvs)")
    assert factories.COUNTY in message
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


@pytest.mark.parametrize("area", ["990102", "990100", "990000"])
async def test_the_hospitals_county_prefecture_or_province_is_its_place_of_treatment(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, area: str
) -> None:
    visit = await factories.make_admission(session)
    payload = settlement_input(visit.visit_id, medins_setl_id=f"AREA-{area}")
    settled = ok(await send(client, hospital_headers, "2304", payload, mdtrtarea_admvs=area))
    assert settled["setlinfo"]["mdtrt_id"] == visit.visit_id
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert [s["his_settlement_id"] for s in listed.json()] == [f"AREA-{area}"]


@pytest.mark.parametrize(("infno", "says"), [("3202", "9101"), ("9001", "not offered")])
async def test_a_transaction_not_offered_says_so(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], infno: str, says: str
) -> None:
    message = failed(
        await send(client, hospital_headers, infno, {"data": {}}), "nhsa_unknown_transaction"
    )
    assert says in message
    assert "offered: 1101, 2401, 2404, 2303, 2304, 2305, 3101, 3201" in message


async def test_an_invalid_envelope_is_answered_in_the_envelope(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    message = envelope("1101", {"data": {}})
    del message["msgid"]
    message["inf_time"] = "yesterday"
    message["signature"] = "unknown field"
    response = await client.post("/nhsa", json=message, headers=hospital_headers)
    assert response.status_code == 200
    body = response.json()
    error = failed(body, "validation_error")
    for field in ("msgid", "inf_time", "signature"):
        assert field in error
    assert body["inf_refmsgid"].startswith(factories.COUNTY) is False  # no envelope was read
    assert len(body["refmsg_time"]) == len(body["respond_time"]) == 17


async def test_the_answer_carries_the_platform_ids_and_times(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = await send(client, hospital_headers, "3201", {})
    assert body["inf_refmsgid"].startswith(factories.COUNTY)
    assert len(body["inf_refmsgid"]) == 30
    assert body["refmsg_time"] <= body["respond_time"]


async def test_without_a_key_or_with_another_role_the_message_is_not_processed(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    message = envelope("1101", {"data": {}})
    anonymous = await client.post("/nhsa", json=message)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    auditor = await client.post("/nhsa", json=message, headers=auditor_headers)
    assert auditor.status_code == 403
    assert auditor.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"data": None},
        {"data": {"mdtrt_id": "V\x00", "medfee_sumamt": "1", "inscp_scp_amt": "1"}},
        {"data": {"mdtrt_id": "V1", "medfee_sumamt": "1e400", "inscp_scp_amt": "1"}},
        {"data": {"mdtrt_id": "V1", "medfee_sumamt": -1, "inscp_scp_amt": 0}},
        {"data": {"mdtrt_id": "V" * 500, "medfee_sumamt": "1", "inscp_scp_amt": "1"}},
        {"data": {"mdtrt_id": "V1", "medfee_sumamt": "1.001", "inscp_scp_amt": "1"}},
        {"data": {"mdtrt_id": "V1", "medfee_sumamt": "1", "inscp_scp_amt": "1", "exp_content": 7}},
    ],
)
@pytest.mark.parametrize("infno", ["2303", "2304", "2305", "2401", "2404", "1101", "3101", "3201"])
async def test_hostile_input_is_a_clear_failure_never_a_5xx(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    infno: str,
    payload: dict[str, object],
) -> None:
    body = await send(client, hospital_headers, infno, payload)
    assert body["infcode"] == -1
    assert body["err_msg"].startswith("[")


async def test_a_resident_id_in_a_failing_message_is_not_echoed(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    id_number = factories.resident_id(seq=301)
    payload = {"mdtrtinfo": {"mdtrt_cert_type": "02", "mdtrt_cert_no": id_number}}
    body = await send(client, hospital_headers, "2401", payload)
    assert body["infcode"] == -1
    assert id_number not in str(body)


def _with_id_number_in(field: str, visit_id: str, id_number: str) -> tuple[str, dict[str, object]]:
    if field == "patn_id":
        encounter = {"mdtrt_id": visit_id, "medfee_sumamt": "20500.00", "ownpay_amt": "500.00"}
        patient = {"patn_id": id_number, "curr_mdtrt_id": visit_id}
        return "3101", {"data": {"patient_dtos": [{**patient, "fsi_encounter_dtos": [encounter]}]}}
    infno = field.partition(":")[0]
    if infno == "2305":
        return infno, {"data": {"mdtrt_id": visit_id, "setl_id": "1", "psn_no": id_number}}
    return infno, settlement_input(visit_id, psn_no=id_number)


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("2303:psn_no", "input.data.psn_no"),
        ("2304:psn_no", "input.data.psn_no"),
        ("2305:psn_no", "input.data.psn_no"),
        ("patn_id", "input.data.patient_dtos.0.patn_id"),
    ],
)
async def test_an_identifier_holding_a_resident_id_number_is_refused_as_on_the_json_api(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
    field: str,
    named: str,
) -> None:
    """`psn_no` and 3101's `patn_id` are identifiers the answer repeats (setlinfo.psn_no,
    result[].patn_id): one holding a resident ID number would put the full number in an
    answer, so it is refused as the JSON API refuses one in an identifier (ADR 0012)."""
    visit = await factories.make_admission(session)
    id_number = factories.resident_id(seq=303)
    by_json = await client.post(
        "/v1/settlements",
        json={
            "visit_id": visit.visit_id,
            "his_settlement_id": id_number,
            "discharged_at": "2024-03-10T10:00:00+08:00",
            "bill": {"total": "100.00", "in_policy": "100.00", "out_of_policy": "0.00"},
        },
        headers=hospital_headers,
    )
    assert by_json.status_code == 422, by_json.text
    assert by_json.json()["errors"][0]["code"] == "resident_id_in_text"
    if field == "2305:psn_no":
        ok(await send(client, hospital_headers, "2304", settlement_input(visit.visit_id)))
    infno, payload = _with_id_number_in(field, visit.visit_id, id_number)
    body = await send(client, hospital_headers, infno, payload)
    message = failed(body, "nhsa_invalid_input")
    assert message.endswith(f"(field: {named})")
    assert id_number not in json.dumps(body, ensure_ascii=False)
    settled = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert [s["status"] for s in settled.json()] == (["settled"] if infno == "2305" else [])


@pytest.mark.parametrize("msgid", ["ZY\x00001", "ZY\n001", "ZY\u202e001"], ids=["nul", "lf", "rlo"])
async def test_a_msgid_that_is_not_one_line_is_refused_in_the_envelope_and_reverses_nothing(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    msgid: str,
) -> None:
    """The msgid is written into what 2404 stores (the reversal's reason). A NUL in it was a
    422 problem+json on PostgreSQL, which cannot store one, not the envelope a HIS reads; a
    line break or a right-to-left override was stored as sent."""
    id_number = factories.resident_id(seq=305)
    factories.person_route(registry, id_number).respond(
        200, json=factories.registry_person("registered_poor")
    )
    admitted = await client.post(
        "/v1/admissions",
        json=factories.admission_request(visit_id="ZY-MSGID", id_number=id_number),
        headers=hospital_headers,
    )
    assert admitted.status_code == 201, admitted.text
    cancel = {"data": {"mdtrt_id": "ZY-MSGID"}}
    body = await send(client, hospital_headers, "2404", cancel, msgid=msgid)
    assert failed(body, "validation_error").endswith("(field: msgid)")
    stored = await client.get("/v1/admissions/ZY-MSGID", headers=hospital_headers)
    assert stored.json()["state"] == "admitted"


def test_a_value_the_database_refuses_is_answered_in_the_envelope() -> None:
    """Whatever else reaches PostgreSQL holding a NUL is about the message, as a NUL in the
    msgid was: the envelope answers it (`[invalid_value]`), not an HTTP 422 problem."""
    refused = DataError("INSERT ...", {}, ValueError("NUL"))
    facts = NhsaRoute("/nhsa", endpoint=lambda: None).problem_of(refused)
    assert facts is not None
    assert (facts.status, facts.code) == (422, "invalid_value")


def _as_2304_sends(visit_id: str, key: str) -> dict[str, Any]:
    """The JSON API's body for the bill `settlement_input` sends as a 2304 (20,000 + 500 yuan,
    the 500 paid in full by the patient), so that one is the replay of the other."""
    breakdown = {"full_self_pay": "500.00", "over_limit_self_pay": "0.00", "pre_self_pay": "0.00"}
    bill = factories.bill("20000.00", "500.00", out_of_policy_breakdown=breakdown)
    return factories.settlement_request(visit_id, key, bill=bill)


async def test_the_json_api_and_nhsa_share_one_idempotency_key_space(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """A settlement made through the JSON API is the one 2304 replays under the same key."""
    visit = await factories.make_admission(session)
    json_body = _as_2304_sends(visit.visit_id, "SAME-KEY")
    made = await client.post("/v1/settlements", json=json_body, headers=hospital_headers)
    assert made.status_code == 201, made.text
    payload = settlement_input(visit.visit_id, medins_setl_id="SAME-KEY")
    output = ok(await send(client, hospital_headers, "2304", payload))
    assert output["setlinfo"]["setl_id"] == str(made.json()["id"])
    assert output["settlecheck"]["replayed"] is True


async def test_a_reversed_settlement_replayed_through_each_interface_is_never_told_as_standing(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """One settlement, made by the JSON API and reversed by 2305, then resent three ways: the
    JSON API replays it `reversed`, 2304 refuses it naming the reversal (infcode 0 would say it
    stands, ADR 0030), and none settles the bill again."""
    visit = await factories.make_admission(session)
    json_body = _as_2304_sends(visit.visit_id, "REV-KEY")
    made = await client.post("/v1/settlements", json=json_body, headers=hospital_headers)
    assert made.status_code == 201, made.text
    setl_id = str(made.json()["id"])
    cancel = {"data": {"mdtrt_id": visit.visit_id, "setl_id": setl_id}}
    ok(await send(client, hospital_headers, "2305", cancel))

    replayed = await client.post("/v1/settlements", json=json_body, headers=hospital_headers)
    assert (replayed.status_code, replayed.headers["Idempotent-Replayed"]) == (201, "true")
    assert replayed.json()["status"] == "reversed"
    assert replayed.json()["reversal"]["his_reversal_id"] == f"2305:{setl_id}"
    payload = settlement_input(visit.visit_id, medins_setl_id="REV-KEY")
    error = failed(await send(client, hospital_headers, "2304", payload), "settlement_reversed")
    assert error.endswith("(field: input.data.medins_setl_id)")
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert [s["status"] for s in listed.json()] == ["reversed"]


@pytest.mark.parametrize(
    "written", ["２０２４-03-10 10:00:00", "2024-03-1\u0660 10:00:00", "2024-03-10 １0:00:00"]
)
async def test_a_time_in_other_digits_is_refused_as_an_amount_in_them_is(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], written: str
) -> None:
    # strptime read them as 0-9: the envelope's inf_time and 1101's begntime were accepted.
    body = await send(client, hospital_headers, "1101", {"data": {}}, inf_time=written)
    assert "(field: inf_time)" in failed(body, "validation_error")
    person = {"mdtrt_cert_type": "02", "mdtrt_cert_no": factories.resident_id(seq=5)}
    body = await send(client, hospital_headers, "1101", {"data": {**person, "begntime": written}})
    assert "input.data.begntime" in failed(body, "nhsa_invalid_input")


@pytest.mark.parametrize(
    "media", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_a_message_not_sent_as_json_says_so_in_the_envelope(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], media: str | None
) -> None:
    """It was a `validation_error` at `body` ("a valid dictionary"), which sent the HIS
    developer to the fields; /v1 answers it 415 `unsupported_media_type` (ADR 0029)."""
    message = json.dumps(envelope("3201", {})).encode()
    headers = {**hospital_headers, **({"Content-Type": media} if media else {})}
    response = await client.post("/nhsa", content=message, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    error = failed(body, "unsupported_media_type")
    assert f"not {media or 'no Content-Type'}" in error
    assert "application/json" in error
    assert body["output"] is None
    assert len(body["refmsg_time"]) == len(body["respond_time"]) == 17
    sent_as_json = await client.post(
        "/nhsa", content=message, headers={**headers, "Content-Type": "application/json"}
    )
    # the same bytes labelled JSON are read, and reach the transaction's own checks
    failed(sent_as_json.json(), "nhsa_invalid_input")


async def test_the_media_type_is_checked_before_the_key_as_on_v1(
    client: httpx.AsyncClient,
) -> None:
    message = json.dumps(envelope("3201", {})).encode()
    plain = await client.post("/nhsa", content=message, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 200
    failed(plain.json(), "unsupported_media_type")
    labelled = await client.post(
        "/nhsa", content=message, headers={"Content-Type": "application/json"}
    )
    assert labelled.status_code == 401
    assert labelled.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"infno": "1101", "opter_name": "\xff"}', "cannot be decoded"),  # not UTF-8
        (b'{"infno": "1101", "msgid": ', "not valid JSON"),  # cut short
    ],
)
async def test_a_body_that_is_not_json_is_answered_in_the_envelope(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], raw: bytes, says: str
) -> None:
    """Bytes that are not UTF-8 were a 422 problem+json (FastAPI's own 400, left to the app's
    handlers), and JSON cut short named its character offset as the field (`field: 28`)."""
    headers = {**hospital_headers, "Content-Type": "application/json"}
    response = await client.post("/nhsa", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    error = failed(response.json(), "malformed_body")
    assert says in error
    assert error.endswith("(field: body)")


async def test_the_envelope_fields_some_provinces_add_are_accepted(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """Provincial envelopes carry 定点医药机构软件厂商 (`fixmedins_soft_fcty`), 渠道id
    (`app_id`) and 加密方式 (`enc_type`, empty when not encrypted), and a 签到流水号 of 32
    characters is seen (a hex UUID); each was a `validation_error`, so the message a HIS sends
    its province was refused."""
    extra = {
        "fixmedins_soft_fcty": "某某医疗信息技术有限公司",
        "enc_type": "",
        "sign_no": "79faf82271944fe38c4f1d99be71bc9c",
        "app_id": "",
        # a C# DateTime as Newtonsoft.Json writes it (ringls/NYB, Fujian)
        "inf_time": "2024-03-10T10:00:00.1234567+08:00",
    }
    body = await send(client, hospital_headers, "3201", {}, **extra)
    failed(body, "nhsa_invalid_input")  # the envelope was read: 3201's own input is missing
    encrypted = await send(client, hospital_headers, "3201", {}, enc_type="SM4")
    assert "(field: enc_type)" in failed(encrypted, "validation_error")
