"""`settlecheck ledger verify` / `export-head` against a test database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from service.cli import main
from tests import factories as f


@pytest.fixture
async def booked(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    await f.book(app.state.sessionmaker, f.finding(), f.finding())
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    return app


async def test_verify_passes_then_fails_after_an_edit(
    booked: FastAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heads = tmp_path / "heads.json"
    assert await asyncio.to_thread(main, ["ledger", "export-head", "--out", str(heads)]) == 0
    assert '"seq": 2' in heads.read_text()
    assert await asyncio.to_thread(main, ["ledger", "verify", "--heads", str(heads)]) == 0
    assert "ledger intact: 1 chains, 2 records" in capsys.readouterr().out
    async with booked.state.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE violations SET rule_code = 'X' WHERE chain_seq = 2"))
    assert await asyncio.to_thread(main, ["ledger", "verify"]) == 1
    out = capsys.readouterr().out
    assert "first broken record: chain 990102 seq 2 violation" in out
    assert "hash mismatch" in out


@pytest.mark.parametrize("region", ["9901O", "99012", "", "99%"])
@pytest.mark.parametrize("action", ["verify", "export-head"])
async def test_a_region_that_is_no_region_prefix_is_refused_not_verified_empty(
    booked: FastAPI, capsys: pytest.CaptureFixture[str], action: str, region: str
) -> None:
    """A typo in --region (a letter O for a zero, 5 digits) named no chain, and verify said
    'ledger intact: 0 chains' with exit 0, so a nightly check of it would never fail; an empty
    one verified every chain instead. Refused, naming the option."""
    with pytest.raises(SystemExit) as refused:
        await asyncio.to_thread(main, ["ledger", action, "--region", region])
    assert refused.value.code == 2
    assert "--region" in capsys.readouterr().err
