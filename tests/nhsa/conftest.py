"""NHSA interface helpers: the envelope around a transaction's input, and posting it."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
import respx

from service.settings import Settings
from tests import factories
from tests.conftest import make_settings

REGISTRY = "http://registry.test"
_serial = count(1)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, registry_total_deadline_seconds=0.3)


@pytest.fixture
def registry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=REGISTRY, assert_all_called=False) as router:
        yield router


def envelope(infno: str, payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The platform's envelope as a HIS sends it, from the county hospital of the demo county."""
    values: dict[str, Any] = {
        "infno": infno,
        "msgid": f"H990102002{next(_serial):018d}"[:30],
        "mdtrtarea_admvs": factories.COUNTY,
        "insuplc_admdvs": factories.COUNTY,
        "recer_sys_code": "YBXT",
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": "",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0042",
        "opter_name": "收费员",
        "inf_time": "2024-03-10 10:00:00",
        "fixmedins_code": factories.COUNTY_HOSPITAL,
        "fixmedins_name": "演示县人民医院",
        "sign_no": "",
        "input": payload,
    }
    values.update(overrides)
    return values


async def send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    infno: str,
    payload: dict[str, Any],
    **overrides: Any,
) -> dict[str, Any]:
    """POST /nhsa; asserts HTTP 200 (every answer about a message is 200) and returns it."""
    response = await client.post(
        "/nhsa", json=envelope(infno, payload, **overrides), headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {
        "infcode",
        "inf_refmsgid",
        "refmsg_time",
        "respond_time",
        "err_msg",
        "output",
    }
    return body


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert body["infcode"] == 0, body["err_msg"]
    assert body["err_msg"] is None
    output: dict[str, Any] = body["output"]
    return output


def failed(body: dict[str, Any], code: str) -> str:
    assert body["infcode"] == -1, body
    assert body["output"] is None
    message: str = body["err_msg"]
    assert message.startswith(f"[{code}] "), message
    return message


def settlement_input(visit_id: str, **overrides: Any) -> dict[str, Any]:
    """2303/2304 input: a 20,500 yuan bill, 500 of it out of policy (全自费)."""
    data: dict[str, Any] = {
        "psn_no": "P1",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "",
        "medfee_sumamt": "20500.00",
        "psn_setlway": "01",
        "mdtrt_id": visit_id,
        "insutype": "390",
        "acct_used_flag": "0",
        "invono": "",
        "mid_setl_flag": "0",
        "fulamt_ownpay_amt": "500.00",
        "overlmt_selfpay": "0.00",
        "preselfpay_amt": "0.00",
        "inscp_scp_amt": "20000.00",
        "exp_content": {"dscg_time": "2024-03-10 10:00:00"},
    }
    data.update(overrides)
    return {"data": data}
