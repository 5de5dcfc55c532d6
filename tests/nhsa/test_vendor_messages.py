"""Messages as HIS vendors' code writes them: every field of the platform's node, the unused
ones empty (`""`, as C# and Java HIS code fills them) or `null` (Newtonsoft.Json writes a
string left unset as `null`). An optional field sent empty is an absent field; a required one
sent empty is still refused, naming it. docs/nhsa.md, *Empty and null fields*."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories
from tests.nhsa.conftest import failed, ok, send, settlement_input


@pytest.mark.parametrize("blank", ["", None])
async def test_1101_with_the_unused_fields_empty_is_answered(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    blank: str | None,
) -> None:
    # The platform's 1101 node as HIS code fills it (newtouch-cloud/openhis Input_1101.cs,
    # TeaHZ/185 T1101.cs): begntime is only for a historical query, so it is sent empty.
    id_number = factories.resident_id(seq=401)
    registry.get(f"/v1/persons/{id_number}").respond(
        200, json=factories.registry_person("registered_poor")
    )
    data = {
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": id_number,
        "card_sn": blank,
        "begntime": blank,
        "psn_cert_type": blank,
        "certno": blank,
        "psn_name": blank,
    }
    output = ok(await send(client, hospital_headers, "1101", {"data": data}))
    assert output["baseinfo"]["certno"] == id_number[:6] + "********" + id_number[-4:]
    assert output["settlecheck"]["covered"] is True


@pytest.mark.parametrize("blank", ["", None, []])
async def test_2401_with_an_empty_extension_and_empty_fields_admits(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    blank: Any,
) -> None:
    # newtouch-cloud/openhis Input_2401.cs: exp_content is a list, left unset (null).
    id_number = factories.resident_id(seq=402)
    registry.get(f"/v1/persons/{id_number}").respond(
        200, json=factories.registry_person("registered_poor")
    )
    visit_id = f"ZY-BLANK-{len(str(blank))}"
    info = {
        "psn_no": "",
        "insutype": "390",
        "coner_name": "",
        "tel": "",
        "begntime": "2024-03-01 08:00:00",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": id_number,
        "med_type": "21",
        "ipt_no": visit_id,
        "medrcdno": "",
        "atddr_no": "D01",
        "geso_val": "",
        "birctrl_matn_date": "",
        "exp_content": blank,
    }
    output = ok(await send(client, hospital_headers, "2401", {"mdtrtinfo": info}))
    assert output["result"] == {"mdtrt_id": visit_id}
    assert output["settlecheck"]["deposit_intended"] == "0.00"
    stored = await client.get(f"/v1/admissions/{visit_id}", headers=hospital_headers)
    assert stored.json()["state"] == "admitted"


@pytest.mark.parametrize("blank", ["", None])
async def test_2304_with_the_optional_fields_empty_settles_as_without_them(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    session: AsyncSession,
    blank: str | None,
) -> None:
    """The three out-of-policy parts, the flags, medins_setl_id and exp_content sent empty are
    absent: the parts 0.00, the flags 0, the key the msgid, the discharge the message's time."""
    visit = await factories.make_admission(session)
    payload = settlement_input(
        visit.visit_id,
        medfee_sumamt="20000.00",
        fulamt_ownpay_amt=blank,
        overlmt_selfpay=blank,
        preselfpay_amt=blank,
        mid_setl_flag=blank,
        acct_used_flag=blank,
        medins_setl_id=blank,
        psn_no=blank,
        exp_content=blank,
    )
    body = await send(client, hospital_headers, "2304", payload, msgid=f"MSG-BLANK-{blank}")
    info = ok(body)["setlinfo"]
    assert info["medfee_sumamt"] == info["inscp_scp_amt"] == "20000.00"
    assert info["fulamt_ownpay_amt"] == "0.00"
    assert info["medins_setl_id"] == f"MSG-BLANK-{blank}"
    stored = (
        await client.get(f"/v1/settlements/{info['setl_id']}", headers=hospital_headers)
    ).json()
    assert stored["discharged_at"].startswith("2024-03-10T02:00:00")  # inf_time, China time
    assert stored["mid_setl_flag"] == info["mid_setl_flag"] == "0"


async def test_3101_with_an_empty_discharge_date_previews_on_the_message_time(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    encounter = {
        "mdtrt_id": visit.visit_id,
        "dscg_date": "",
        "medfee_sumamt": "20000.00",
        "ownpay_amt": "",
    }
    patient = {"patn_id": "", "curr_mdtrt_id": visit.visit_id, "fsi_encounter_dtos": [encounter]}
    output = ok(await send(client, hospital_headers, "3101", {"data": {"patient_dtos": [patient]}}))
    assert [row["mdtrt_id"] for row in output["settlecheck"]] == [visit.visit_id]


@pytest.mark.parametrize(
    ("field", "named"),
    [("mdtrt_id", "input.data.mdtrt_id"), ("medfee_sumamt", "input.data.medfee_sumamt")],
)
@pytest.mark.parametrize("blank", ["", None])
async def test_a_required_field_sent_empty_is_still_refused_naming_it(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    field: str,
    named: str,
    blank: str | None,
) -> None:
    payload = settlement_input("ZY-ANY", **{field: blank})
    message = failed(await send(client, hospital_headers, "2303", payload), "nhsa_invalid_input")
    assert named in message


def _admission(**exp: object) -> dict[str, Any]:
    return {
        "mdtrtinfo": {
            "begntime": "2024-03-01 08:00:00",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": factories.resident_id(seq=403),
            "med_type": "21",
            "ipt_no": "ZY-NAMED",
            "exp_content": exp,
        }
    }


@pytest.mark.parametrize(
    ("infno", "payload", "overrides", "named"),
    [
        ("2401", _admission(psn_name="张\x00三"), {}, "input.mdtrtinfo.exp_content.psn_name"),
        (
            "2401",
            _admission(referred=True, referral_no="R\x001"),
            {},
            "input.mdtrtinfo.exp_content.referral_no",
        ),
        (
            "2304",
            settlement_input("ZY-NAMED", medins_setl_id="JS\x001"),
            {},
            "input.data.medins_setl_id",
        ),
        # the key when medins_setl_id is absent (a NUL in a msgid is the envelope's refusal)
        ("2304", settlement_input("ZY-NAMED"), {"msgid": factories.resident_id(seq=404)}, "msgid"),
    ],
)
async def test_a_value_the_service_refuses_is_named_as_the_message_names_it(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    infno: str,
    payload: dict[str, Any],
    overrides: dict[str, str],
    named: str,
) -> None:
    """Values read into the JSON API's request were named by its fields (`input.mdtrtinfo.name`,
    `input.data.his_settlement_id`): fields the message does not have."""
    body = await send(client, hospital_headers, infno, payload, **overrides)
    message = failed(body, "nhsa_invalid_input")
    assert message.endswith(f"(field: {named})"), message
