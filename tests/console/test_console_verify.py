"""核验台账: the console's "verify the ledger" action, with an optional heads file (issue 11 item
12): intact, broken, truncated against a kept file, refused for hospitals, answered in Chinese."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from service.china_time import CHINA_TZ
from tests import factories as f


@pytest.fixture
async def ids(app: FastAPI) -> list[int]:
    return await f.book(
        app.state.sessionmaker,
        f.finding(visit_id="V1"),
        f.finding(visit_id="V2"),
        f.finding(
            visit_id="N1", county_code=f.NEIGHBOUR_COUNTY, hospital_code=f.NEIGHBOUR_HOSPITAL
        ),
    )


async def _login(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/console/login", data={"api_key": headers["X-API-Key"]})
    assert response.status_code == 303
    page = await client.get("/console/violations")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found.group(1)


async def _sql(app: FastAPI, statement: str) -> None:
    async with app.state.engine.begin() as conn:
        await conn.execute(sa.text(statement))


async def test_an_auditor_verifies_and_sees_the_ledger_intact(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ids: list[int]
) -> None:
    csrf = await _login(client, auditor_headers)
    form = await client.get("/console/verify")
    assert form.status_code == 200
    assert "核验台账" in form.text
    assert 'enctype="multipart/form-data"' in form.text
    result = await client.post("/console/verify", data={"csrf": csrf})
    assert result.status_code == 200, result.text
    assert 'id="verdict"' in result.text
    assert "台账完整" in result.text
    assert "2 条链" in result.text
    assert "3 条记录" in result.text


async def test_an_edit_is_shown_broken_with_the_record(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ids: list[int]
) -> None:
    csrf = await _login(client, auditor_headers)
    await _sql(app, "UPDATE violations SET points_hundredths = 0 WHERE chain_seq = 2")
    result = await client.post("/console/verify", data={"csrf": csrf})
    assert "台账已被改动" in result.text
    assert "990102" in result.text
    assert "第 2 条" in result.text
    assert "内容被修改" in result.text


async def test_a_truncation_is_caught_with_the_kept_heads_file(
    app: FastAPI, client: httpx.AsyncClient, auditor_headers: dict[str, str], ids: list[int]
) -> None:
    csrf = await _login(client, auditor_headers)
    kept = await client.get("/console/verify/heads.json")
    assert kept.status_code == 200
    assert "attachment" in kept.headers["content-disposition"]
    await _sql(app, "DELETE FROM violations WHERE chain = '990102' AND chain_seq = 2")
    await _sql(
        app,
        "UPDATE ledger_heads SET seq = 1, head_hash = (SELECT entry_hash FROM violations "
        "WHERE chain = '990102' AND chain_seq = 1) WHERE chain = '990102'",
    )
    plain = await client.post("/console/verify", data={"csrf": csrf})
    assert "台账完整" in plain.text  # the chain alone cannot know
    checked = await client.post(
        "/console/verify",
        data={"csrf": csrf},
        files={"heads": ("heads.json", kept.content, "application/json")},
    )
    assert "台账已被改动" in checked.text
    assert "被截断" in checked.text
    assert "对照链头 2 条" in checked.text


async def test_a_bad_heads_file_is_explained(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ids: list[int]
) -> None:
    csrf = await _login(client, auditor_headers)
    result = await client.post(
        "/console/verify",
        data={"csrf": csrf},
        files={"heads": ("heads.json", b'{"heads": [{"chain": 1}]}', "application/json")},
    )
    assert result.status_code == 422
    assert "链头文件无法识别" in result.text


async def test_hospitals_may_not_verify_and_forms_need_the_token(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    auditor_headers: dict[str, str],
    ids: list[int],
) -> None:
    csrf = await _login(client, hospital_headers)
    assert (await client.get("/console/verify")).status_code == 403
    assert (await client.post("/console/verify", data={"csrf": csrf})).status_code == 403
    assert (await client.get("/console/verify/heads.json")).status_code == 403
    assert "/console/verify" not in (await client.get("/console/violations")).text
    client.cookies.clear()
    await _login(client, auditor_headers)
    assert (await client.post("/console/verify", data={"csrf": "0" * 32})).status_code == 403


async def test_the_heads_file_is_named_for_the_china_time_it_was_taken(
    client: httpx.AsyncClient, auditor_headers: dict[str, str], ids: list[int]
) -> None:
    """The office keeps these files by their names: a file taken at 07:30 in Beijing is
    that day's, not (in UTC) the day before's, as every time on the console is China time."""
    await _login(client, auditor_headers)
    kept = await client.get("/console/verify/heads.json")
    taken = datetime.fromisoformat(kept.json()["exported_at"]).astimezone(CHINA_TZ)
    stamp = taken.strftime("%Y%m%d-%H%M%S")
    assert (
        kept.headers["content-disposition"] == f'attachment; filename="ledger-heads-{stamp}.json"'
    )
