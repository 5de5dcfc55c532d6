"""Resident ID numbers typed into free text (docs/decisions/0012): refused in identifiers,
masked in prose, and never echoed by a problem, whatever the path or body held."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from sqlmodel import select

from service.admissions.models import Admission
from service.identity import normalise_resident_id
from service.idtext import (
    holds_old_form,
    holds_resident_id,
    mask_in_prose,
    mask_resident_ids,
    redact,
)
from service.settlements.models import SettlementReversal
from service.violations.models import ViolationTransition
from tests import factories
from tests.factories import REGISTRY_URL, person_route

ID = factories.resident_id(region="110105", seq=123)
MASKED = ID[:6] + "********" + ID[-4:]
FULL_WIDTH = ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
SPACED = f"{ID[:6]} {ID[6:14]} {ID[14:]}"
WRONG_CHECK = ID[:17] + ("0" if ID[17] != "0" else "1")
# The same person's number in the old 15-digit form: region, birth date without "19", sequence.
OLD = ID[:6] + ID[8:14] + ID[14:17]
OLD_MASKED = OLD[:6] + "******" + OLD[-3:]


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=REGISTRY_URL, assert_all_called=True) as router:
        yield router


@pytest.mark.parametrize(
    "text",
    [ID, f"V{ID}", f"{ID}-1", f"9{ID}7", ID[:17] + ID[17].lower(), FULL_WIDTH, SPACED,
     f"{ID[:6]}-{ID[6:14]}-{ID[14:]}", f"患者{ID}住院"],
)  # fmt: skip
def test_a_valid_id_number_is_found_wherever_it_stands(text: str) -> None:
    assert holds_resident_id(text)
    assert ID not in mask_resident_ids(text)
    assert "********" in mask_resident_ids(text)


@pytest.mark.parametrize(
    "text",
    [WRONG_CHECK, "ZY202603100001", "123456789012345678", "V-0001", "", "发票 20260310"],
)
def test_text_without_a_valid_id_number_is_left_alone(text: str) -> None:
    assert not holds_resident_id(text)
    assert mask_resident_ids(text) == text


def test_redact_masks_id_shaped_numbers_valid_or_not() -> None:
    assert WRONG_CHECK not in redact(f"no person {WRONG_CHECK}")
    assert redact(f"no admission {ID} here") == f"no admission {MASKED} here"


async def _admit(
    client: httpx.AsyncClient, registry: respx.MockRouter, headers: dict[str, str], **kw: Any
) -> httpx.Response:
    id_number = factories.resident_id(seq=11)
    person_route(registry, id_number).respond(200, json=factories.registry_person())
    return await client.post(
        "/v1/admissions", json=factories.admission_request(**kw), headers=headers
    )


def _refused_fields(response: httpx.Response) -> list[str]:
    """The fields a 422 refused for holding an ID number; the answer never echoes it."""
    assert response.status_code == 422, response.text
    assert ID not in response.text
    return [e["field"] for e in response.json()["errors"] if e["code"] == "resident_id_in_text"]


@pytest.mark.parametrize("visit_id", [ID, f"V{ID}", f"{ID}-1"])
async def test_an_admission_whose_visit_id_holds_an_id_number_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    response = await client.post(
        "/v1/admissions",
        json=factories.admission_request(visit_id=visit_id),
        headers=hospital_headers,
    )
    assert "visit_id" in _refused_fields(response)


async def test_a_referral_number_holding_an_id_number_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = factories.admission_request(referral={"referred": True, "referral_no": f"R{ID}"})
    response = await client.post("/v1/admissions", json=body, headers=hospital_headers)
    assert "referral.referral_no" in _refused_fields(response)


@pytest.fixture
async def admitted(
    client: httpx.AsyncClient, registry: respx.MockRouter, hospital_headers: dict[str, str]
) -> str:
    referral = {"referred": True, "from_hospital": f"乡镇卫生院 患者{ID}"}
    response = await _admit(client, registry, hospital_headers, referral=referral)
    assert response.status_code == 201, response.text
    return "V-0001"


async def test_a_receipt_number_holding_an_id_number_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], admitted: str
) -> None:
    deposit = {"receipt_no": ID, "amount": "10.00", "taken_at": "2026-03-10T09:00:00+08:00"}
    response = await client.post(
        f"/v1/admissions/{admitted}/deposits", json=deposit, headers=hospital_headers
    )
    assert "receipt_no" in _refused_fields(response)


async def test_prose_is_stored_and_shown_masked(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], admitted: str
) -> None:
    response = await client.post(
        f"/v1/admissions/{admitted}/reversal",
        json={"reason": f"误登记，患者身份证{ID}"},
        headers=hospital_headers,
    )
    assert response.status_code == 200, response.text
    assert ID not in response.text
    assert response.json()["reversal_reason"] == f"误登记，患者身份证{MASKED}"
    async with app.state.sessionmaker() as s:
        row = (await s.exec(select(Admission))).one()
    assert ID not in str(row.reversal_reason) + str(row.response)


@pytest.fixture
async def settled(app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]) -> int:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    body = {
        "visit_id": row.visit_id,
        "his_settlement_id": "S-1",
        "discharged_at": "2024-03-10T10:00:00+08:00",
        "bill": {"total": "1000.00", "in_policy": "1000.00", "out_of_policy": "0.00"},
    }
    response = await client.post("/v1/settlements", json=body, headers=hospital_headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_a_his_settlement_id_holding_an_id_number_is_refused(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    async with app.state.sessionmaker() as s:
        row = await factories.make_admission(s)
    body = {
        "visit_id": row.visit_id,
        "his_settlement_id": f"S{ID}",
        "discharged_at": "2024-03-10T10:00:00+08:00",
        "bill": {"total": "1000.00", "in_policy": "1000.00", "out_of_policy": "0.00"},
    }
    response = await client.post("/v1/settlements", json=body, headers=hospital_headers)
    assert "his_settlement_id" in _refused_fields(response)


async def test_a_settlement_reversal_masks_its_reason_and_refuses_an_id_in_its_his_id(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], settled: int
) -> None:
    path = f"/v1/settlements/{settled}/reversal"
    refused = await client.post(
        path, json={"reason": "x", "his_reversal_id": ID}, headers=hospital_headers
    )
    assert "his_reversal_id" in _refused_fields(refused)
    done = await client.post(path, json={"reason": f"重结 {SPACED}"}, headers=hospital_headers)
    assert done.status_code == 201, done.text
    assert ID not in done.text
    assert SPACED not in done.text
    async with app.state.sessionmaker() as s:
        reversal = (await s.exec(select(SettlementReversal))).one()
    assert reversal.reason == f"重结 {MASKED}"


async def test_a_rectification_note_is_masked_and_its_evidence_ref_refused(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    [vid] = await factories.book(app.state.sessionmaker, factories.finding())
    path = f"/v1/violations/{vid}/transitions"
    refused = await client.post(
        path, json={"to_status": "rectifying", "evidence_ref": f"doc-{ID}"}, headers=admin_headers
    )
    assert "evidence_ref" in _refused_fields(refused)
    done = await client.post(
        path, json={"to_status": "rectifying", "note": f"已核实 {ID}"}, headers=admin_headers
    )
    assert done.status_code == 201, done.text
    assert ID not in done.text
    async with app.state.sessionmaker() as s:
        transition = (await s.exec(select(ViolationTransition))).one()
    assert transition.note == f"已核实 {MASKED}"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/violations", {"visit_id": ID}),
        ("/v1/violations/export.csv", {"visit_id": f"V{ID}"}),
        ("/v1/settlements", {"visit_id": ID}),
    ],
)
async def test_a_filter_holding_an_id_number_is_refused(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    path: str,
    params: dict[str, str],
) -> None:
    response = await client.get(path, params=params, headers=hospital_headers)
    assert "visit_id" in _refused_fields(response)


async def test_a_key_label_holding_an_id_number_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/keys",
        json={"role": "hospital", "hospital_code": "H990102002", "label": f"desk {ID}"},
        headers=admin_headers,
    )
    assert "label" in _refused_fields(response)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/admissions/{ID}", None),
        ("GET", f"/v1/admissions/V1?hospital_code={ID}", None),
        ("POST", f"/v1/admissions/{ID}/deposits",
         {"receipt_no": "R1", "amount": "1.00", "taken_at": "2026-03-10T09:00:00+08:00"}),
        ("POST", f"/v1/admissions/{ID}/reversal", {"reason": "x"}),
        ("GET", f"/v1/admissions/{FULL_WIDTH}", None),
        ("GET", f"/v1/persons/{WRONG_CHECK}/status", None),
        ("GET", f"/v1/persons/{ID}x/status", None),
        ("GET", f"/v1/policies/{ID}", None),
        ("GET", f"/v1/settlements/{ID}", None),
        ("GET", f"/v1/violations/{ID}", None),
        ("POST", "/v1/settlements/preview",
         {"visit_id": "V1", "discharged_at": "2024-03-10T10:00:00+08:00",
          "bill": {"total": "1.00", "in_policy": "1.00", "out_of_policy": "0.00"},
          "external_amounts": {ID: "1.00"}}),
    ],
)  # fmt: skip
async def test_no_problem_echoes_an_id_number_from_the_request(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    response = await client.request(method, path, json=body, headers=hospital_headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for shown in (ID, WRONG_CHECK, FULL_WIDTH, ID[6:14]):
        assert shown not in response.text, response.text


@pytest.mark.parametrize("visit_id", ["a\nb", "\x7f", "=1+1", "V\x00"])
async def test_a_settlements_visit_filter_takes_only_what_a_visit_id_can_be(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], visit_id: str
) -> None:
    response = await client.get(
        "/v1/settlements", params={"visit_id": visit_id}, headers=hospital_headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "visit_id"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f"])
async def test_prose_with_a_control_character_is_refused_naming_the_field(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    settled: int,
    control: str,
) -> None:
    path = f"/v1/settlements/{settled}/reversal"

    refused = await client.post(path, json={"reason": f"重结{control}"}, headers=hospital_headers)

    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("reason", "control_character")
    ]
    async with app.state.sessionmaker() as s:
        assert (await s.exec(select(SettlementReversal))).all() == []
    lines = await client.post(path, json={"reason": "重结\n\t第二行\r\n"}, headers=hospital_headers)
    assert lines.status_code == 201, lines.text


@pytest.mark.parametrize(
    "bad",
    ["a\x00", "\u202eevil", "a\nb", "\u200b", "k\u0085x", "k\u009bx", "k\u061cx", "x\ufeff",
     "a\u2060b", "a\u00adb", "\U000e0041"],
)  # fmt: skip
async def test_labels_names_and_references_are_one_line_on_every_database(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hospital_headers: dict[str, str],
    bad: str,
) -> None:
    # Before, SQLite stored these and PostgreSQL refused a NUL with a 422 naming no field.
    violation_id = (await factories.book(app.state.sessionmaker, factories.finding()))[0]
    fund = {"code": "F50-AID", "fund_type": "medical_aid", "region_code": "50",
            "name": "重庆市医疗救助基金", "owner": "重庆市医疗保障局"}  # fmt: skip
    cases = [
        ("/v1/keys", {"role": "admin", "label": bad}, admin_headers, "label"),
        ("/v1/clearing/funds", {**fund, "name": bad}, admin_headers, "name"),
        ("/v1/clearing/funds", {**fund, "owner": bad}, admin_headers, "owner"),
        (
            f"/v1/violations/{violation_id}/transitions",
            {"to_status": "rectifying", "note": "整改", "evidence_ref": bad},
            hospital_headers,
            "evidence_ref",
        ),
    ]
    for path, body, headers, field in cases:
        refused = await client.post(path, json=body, headers=headers)
        assert refused.status_code == 422, (path, refused.text)
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
            (field, "not_one_line")
        ], path
    keys = await client.get("/v1/keys", headers=admin_headers)
    assert all(bad not in key["label"] for key in keys.json())
    violation = await client.get(f"/v1/violations/{violation_id}", headers=admin_headers)
    assert violation.json()["status"] == "open"


@pytest.mark.parametrize("sent", ["\ufeffREV-1", "REV-1 ", " REV-1", "REV-1\xa0"])
async def test_an_identifier_with_spaces_around_it_is_refused(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], settled: int, sent: str
) -> None:
    body = {"reason": "重结", "his_reversal_id": sent}
    refused = await client.post(
        f"/v1/settlements/{settled}/reversal", json=body, headers=hospital_headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "his_reversal_id"
    assert refused.json()["errors"][0]["code"] in {"not_one_line", "not_trimmed"}


def test_an_id_number_without_its_check_character_is_found_too() -> None:
    # The check character is computed from the first 17 digits: the 17 are the whole ID.
    first17 = ID[:17]
    assert holds_resident_id(f"no. {first17} here")
    assert mask_resident_ids(f"{first17} 和 {ID}") == (
        f"{ID[:6]}********{ID[14:17]} 和 {ID[:6]}********{ID[14:]}"
    )
    assert first17 not in redact(f"/v1/persons/{first17}/status")
    assert not holds_resident_id("12345678901234567")  # no ID's first 17 (no such birth date)


async def test_a_reason_holding_an_id_without_its_check_character_is_stored_masked(
    app: FastAPI, client: httpx.AsyncClient, hospital_headers: dict[str, str], settled: int
) -> None:
    reason = f"重结 {ID[:17]}"
    made = await client.post(
        f"/v1/settlements/{settled}/reversal", json={"reason": reason}, headers=hospital_headers
    )
    assert made.status_code == 201, made.text
    assert ID[:17] not in made.text
    async with app.state.sessionmaker() as s:
        stored = (await s.exec(select(SettlementReversal))).one()
    assert ID[:17] not in stored.reason


def test_the_old_15_digit_form_is_masked_in_prose() -> None:
    assert normalise_resident_id(OLD) == ID  # the service takes it as this person's number
    assert mask_in_prose(f"原身份证 {OLD}，新 {ID}") == f"原身份证 {OLD_MASKED}，新 {MASKED}"
    spaced = f"{OLD[:6]} {OLD[6:12]} {OLD[12:]}"
    assert mask_in_prose(f"患者{spaced}住院") == f"患者{OLD_MASKED}住院"
    assert holds_old_form(f"req_{OLD}_1")
    # Not a birth date (month 13), or a run of 15 inside a longer number: some other number.
    for other in ("110105601317123", f"9{OLD}", f"{OLD}7"):
        assert not holds_old_form(other)
        assert mask_in_prose(other) == other


async def test_a_reason_or_a_note_holding_the_old_form_is_stored_masked(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    admin_headers: dict[str, str],
    settled: int,
) -> None:
    made = await client.post(
        f"/v1/settlements/{settled}/reversal",
        json={"reason": f"重结 {OLD}"},
        headers=hospital_headers,
    )
    assert made.status_code == 201, made.text
    assert OLD not in made.text
    [vid] = await factories.book(app.state.sessionmaker, factories.finding())
    noted = await client.post(
        f"/v1/violations/{vid}/transitions",
        json={"to_status": "rectifying", "note": f"已核实 {OLD}"},
        headers=admin_headers,
    )
    assert noted.status_code == 201, noted.text
    assert OLD not in noted.text
    async with app.state.sessionmaker() as s:
        reversal = (await s.exec(select(SettlementReversal))).one()
        transition = (await s.exec(select(ViolationTransition))).one()
    assert (reversal.reason, transition.note) == (f"重结 {OLD_MASKED}", f"已核实 {OLD_MASKED}")


@pytest.mark.parametrize(
    "path", [f"/v1/persons/{OLD}x/status", f"/v1/settlements/{OLD}", f"/v1/violations/{OLD}"]
)
async def test_no_problem_echoes_an_id_number_in_the_old_form(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=hospital_headers)
    assert 400 <= response.status_code < 500
    assert OLD not in response.text
    assert OLD_MASKED in response.text
