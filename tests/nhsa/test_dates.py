"""The plausible date window (ADR 0012) holds on the NHSA interface as on the JSON API: the
services check it, whichever interface called them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.models import Admission
from service.china_time import CHINA_TZ, day_start, today
from service.settlements.models import Accumulator
from tests import factories
from tests.nhsa.conftest import failed, ok, send, settlement_input

# Years ahead whenever the suite runs, not of the year the test was written (ADR 0031).
YEARS_AHEAD = today().year + 5


@pytest.mark.parametrize("infno", ["2303", "2304"])
async def test_a_discharge_years_ahead_is_refused_and_opens_no_year(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, infno: str
) -> None:
    visit = await factories.make_admission(session)
    await session.commit()
    discharged = f"{YEARS_AHEAD}-03-10 10:00:00"
    payload = settlement_input(visit.visit_id, exp_content={"dscg_time": discharged})
    message = failed(await send(client, hospital_headers, infno, payload), "implausible_date")
    assert "(field: input.data.exp_content.dscg_time)" in message
    years = (await session.exec(select(Accumulator.year).distinct())).all()
    assert YEARS_AHEAD not in years
    await session.commit()  # SQLite: give the write lock back before the next request
    listed = await client.get(
        f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
    )
    assert listed.json() == []


async def test_an_admission_five_years_ahead_is_refused(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    session: AsyncSession,
) -> None:
    id_number = factories.resident_id(seq=241)
    payload = {
        "mdtrtinfo": {
            "psn_no": "P1",
            "insutype": "390",
            "begntime": f"{YEARS_AHEAD}-03-01 08:00:00",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": id_number,
            "med_type": "21",
            "ipt_no": "ZY-FUTURE",
            "atddr_no": "D01",
            "adm_diag_dscr": "肺炎",
            "exp_content": {"psn_name": "张三"},
        },
        "diseinfo": [{"diag_code": "J18.9", "diag_name": "肺炎"}],
    }
    message = failed(await send(client, hospital_headers, "2401", payload), "implausible_date")
    assert "(field: input.mdtrtinfo.begntime)" in message
    stored = (await session.exec(select(Admission).where(Admission.visit_id == "ZY-FUTURE"))).all()
    assert stored == []


async def test_an_error_message_never_repeats_a_resident_id_number(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    """err_msg is redacted as problem details are (service/idtext.py): a HIS that sends an ID
    number where the visit id goes does not get it back in the answer or the platform's log."""
    id_number = factories.resident_id(seq=242)
    body = await send(client, hospital_headers, "2404", {"data": {"mdtrt_id": id_number}})
    assert body["infcode"] == -1
    assert id_number not in body["err_msg"]
    assert id_number[:6] + "********" + id_number[-4:] in body["err_msg"]


def _now_in_china() -> str:
    return datetime.now(UTC).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("infno", ["2303", "2304"])
async def test_a_bill_sent_on_the_day_of_discharge_without_a_discharge_time_settles(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, infno: str
) -> None:
    """The platform's 2303/2304 carry no discharge: it defaults to the message's time, which
    has come (23:59:59 of that day had not, and was refused as in the future)."""
    admitted = day_start(today() - timedelta(days=4))
    visit = await factories.make_admission(session, admitted_at=admitted)
    await session.commit()
    sent = _now_in_china()
    payload = settlement_input(visit.visit_id, exp_content={})
    output = ok(await send(client, hospital_headers, infno, payload, inf_time=sent))
    assert output["setlinfo"]["mdtrt_id"] == visit.visit_id
    await session.commit()  # SQLite: give the write lock back before the next request
    if infno == "2304":
        listed = await client.get(
            f"/v1/settlements?visit_id={visit.visit_id}", headers=hospital_headers
        )
        [stored] = listed.json()
        discharged = datetime.fromisoformat(stored["discharged_at"])
        assert discharged == datetime.strptime(sent, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


async def test_an_audit_sent_on_the_day_of_discharge_without_dscg_date_is_answered(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(
        session, admitted_at=day_start(today() - timedelta(days=4))
    )
    await session.commit()
    encounter = {
        "mdtrt_id": visit.visit_id,
        "medins_id": factories.COUNTY_HOSPITAL,
        "medfee_sumamt": "1000.00",
        "ownpay_amt": "0.00",
        "fsi_order_dtos": [{"rx_id": "R1", "hilist_code": "X"}],
    }
    patient = {"patn_id": "P1", "curr_mdtrt_id": visit.visit_id, "fsi_encounter_dtos": [encounter]}
    payload = {"data": {"patient_dtos": [patient], "trig_scen": "5"}}
    body = await send(client, hospital_headers, "3101", payload, inf_time=_now_in_china())
    assert ok(body)["result"] is not None


def _audit_input(visit_id: str, **encounter: Any) -> dict[str, Any]:
    """3101 with the current encounter second among fsi_encounter_dtos (index 1)."""
    current = {
        "mdtrt_id": visit_id,
        "medins_id": factories.COUNTY_HOSPITAL,
        "medfee_sumamt": "1000.00",
        "ownpay_amt": "0.00",
        **encounter,
    }
    earlier = {**current, "mdtrt_id": "EARLIER"}
    patient = {"patn_id": "P1", "curr_mdtrt_id": visit_id, "fsi_encounter_dtos": [earlier, current]}
    return {"data": {"patient_dtos": [patient], "trig_scen": "5"}}


async def test_3101_names_the_dscg_date_of_the_current_encounter_before_its_admission(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)  # admitted 2024-03-01
    await session.commit()
    payload = _audit_input(visit.visit_id, dscg_date="2024-02-20 10:00:00")
    message = failed(
        await send(client, hospital_headers, "3101", payload), "discharge_before_admission"
    )
    assert message.endswith("(field: input.data.patient_dtos.0.fsi_encounter_dtos.1.dscg_date)")


async def test_3101_shows_the_admission_in_china_time(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)  # admitted 2024-03-01 08:00 China time
    await session.commit()
    payload = _audit_input(visit.visit_id, dscg_date="2024-02-20 10:00:00")
    message = failed(
        await send(client, hospital_headers, "3101", payload), "discharge_before_admission"
    )
    assert "2024-02-20T10:00:00+08:00 is before the admission at 2024-03-01T08:00:00+08:00" in (
        message
    )


async def test_3101_names_the_ownpay_amt_of_the_current_encounter_with_its_index(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    visit = await factories.make_admission(session)
    await session.commit()
    payload = _audit_input(visit.visit_id, ownpay_amt="2000.00", dscg_date="2024-03-10 10:00:00")
    message = failed(await send(client, hospital_headers, "3101", payload), "nhsa_invalid_input")
    assert message.endswith("(field: input.data.patient_dtos.0.fsi_encounter_dtos.1.ownpay_amt)")


@pytest.mark.parametrize("infno", ["2303", "2304"])
async def test_a_defaulted_discharge_before_the_admission_names_inf_time(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession, infno: str
) -> None:
    """Not exp_content.dscg_time, which the caller never sent."""
    visit = await factories.make_admission(session)  # admitted 2024-03-01
    await session.commit()
    payload = settlement_input(visit.visit_id, exp_content={})
    body = await send(client, hospital_headers, infno, payload, inf_time="2024-02-20 10:00:00")
    assert body["infcode"] == -1
    assert body["err_msg"].endswith("(field: inf_time)"), body["err_msg"]


async def test_2404_of_an_unknown_visit_names_mdtrt_id(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = await send(client, hospital_headers, "2404", {"data": {"mdtrt_id": "NO-SUCH-VISIT"}})
    assert body["infcode"] == -1
    assert body["err_msg"].endswith("(field: input.data.mdtrt_id)"), body["err_msg"]


async def test_a_resent_settlement_whose_inf_time_moved_replays_with_its_first_discharge(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], session: AsyncSession
) -> None:
    """Without a discharge sent, the first message's time is the discharge; a resend stamped
    later the same day (its answer was lost) is the same request, not a conflict."""
    visit = await factories.make_admission(
        session, admitted_at=day_start(today() - timedelta(days=4))
    )
    await session.commit()
    first_sent = datetime.now(UTC).astimezone(CHINA_TZ) - timedelta(minutes=10)
    payload = settlement_input(visit.visit_id, exp_content={}, medins_setl_id="JS-RESENT")

    first = ok(
        await send(
            client,
            hospital_headers,
            "2304",
            payload,
            inf_time=first_sent.strftime("%Y-%m-%d %H:%M:%S"),
        )
    )
    await session.commit()  # SQLite: give the write lock back before the next request
    resent = await send(client, hospital_headers, "2304", payload, inf_time=_now_in_china())

    again = ok(resent)
    assert again["setlinfo"]["setl_id"] == first["setlinfo"]["setl_id"]
    assert again["settlecheck"]["replayed"] is True


@pytest.mark.parametrize(
    "asked",
    [f"{YEARS_AHEAD}-03-10 09:00:00", "2099-12-31 23:59:59", "1995-06-01 09:00:00"],
    ids=["years-ahead", "2099", "before-the-floor"],
)
async def test_1101_on_a_day_outside_the_window_is_refused_as_the_json_apis_on_is(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    registry: respx.MockRouter,
    asked: str,
) -> None:
    id_number = factories.resident_id(seq=243)
    asked_registry = registry.get(f"/v1/persons/{id_number}").respond(
        200, json=factories.registry_person("registered_poor")
    )
    by_json = await client.get(
        f"/v1/persons/{id_number}/status?on={asked[:10]}", headers=hospital_headers
    )
    assert by_json.status_code == 422, by_json.text
    assert by_json.json()["code"] == "implausible_date"
    payload = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": id_number, "begntime": asked}}
    message = failed(await send(client, hospital_headers, "1101", payload), "implausible_date")
    assert message.endswith("(field: input.data.begntime)")
    assert not asked_registry.called  # nothing was judged on a day nobody can ask about
