"""The demo keys printed at start are the database's own: one keys file per database
(service/demo.py `demo_keys_file`), and only keys the database holds are printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Role
from service.auth.keys import issue_key, revoke_key
from service.demo import demo_keys_file, saved_report

SECRET = "a-real-secret-for-development-0123456789"
_BANNER_KEY = re.compile(r"^  \S.* X-API-Key: (\S+)$", re.MULTILINE)


def test_each_database_has_its_own_keys_file() -> None:
    assert demo_keys_file("sqlite+aiosqlite:///./settlecheck.db") == Path(
        "./settlecheck-demo-keys.json"
    )
    assert demo_keys_file("sqlite+aiosqlite:////srv/sck/b.db") == Path("/srv/sck/b-demo-keys.json")
    pg = "postgresql+psycopg://postgres@db.internal:5433/settlecheck"
    assert demo_keys_file(pg) == Path("settlecheck-demo-keys.db.internal-5433-settlecheck.json")
    other = "postgresql+psycopg://postgres@db.internal:5433/settlecheck_ci"
    assert demo_keys_file(other) != demo_keys_file(pg)


def test_a_second_database_started_in_the_same_directory_keeps_the_first_ones_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tester's case: one service seeded (keys written), another database started from
    the same directory, the first restarted: its banner must print its own keys."""
    from service.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTLECHECK_ID_HASH_KEY", SECRET)
    monkeypatch.setenv("SETTLECHECK_ENVIRONMENT", "development")
    monkeypatch.delenv("SETTLECHECK_REDIS_URL", raising=False)

    def start(database: str) -> list[str]:
        monkeypatch.setenv("SETTLECHECK_DATABASE_URL", f"sqlite+aiosqlite:///./{database}")
        assert main(["db", "upgrade"]) == 0
        capsys.readouterr()
        assert main(["demo-data"]) == 0
        return _BANNER_KEY.findall(capsys.readouterr().out)

    first = start("first.db")
    second = start("second.db")
    again = start("first.db")

    assert len(first) == 4
    assert set(second).isdisjoint(first)
    assert again == first


async def test_saved_keys_the_database_does_not_hold_are_not_printed(
    session: AsyncSession, tmp_path: Path
) -> None:
    held = await issue_key(session, role=Role.ADMIN, label="demo admin")
    revoked = await issue_key(session, role=Role.AUDITOR, region_prefix="99", label="demo")
    await revoke_key(session, revoked.id)
    keys_file = tmp_path / "keys.json"
    saved = {
        "admin (all)": held.token,
        "auditor (99)": revoked.token,
        "hospital (H990102002)": "sck_0000abcd_not-this-databases",
        "fund (99)": "not a key at all",
    }
    keys_file.write_text(json.dumps({"keys": saved, "notes": ["roster: 10 people"]}))

    report = await saved_report(session, keys_file)

    assert report is not None
    assert report.keys == {"admin (all)": held.token}
    assert report.notes[0] == "roster: 10 people"
    assert "3 key(s)" in report.notes[-1]
    assert str(keys_file) in report.notes[-1]
