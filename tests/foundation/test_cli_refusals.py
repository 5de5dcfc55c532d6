"""An operator's slip at the command line (a file not there, a value out of shape, a database
not reachable, a migration that stops on data) is one message and an exit code, no traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic import command
from service import cli
from service.migrations import alembic_config
from service.settings import Settings
from tests import factories


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr(cli, "load_settings", lambda: settings)


def test_a_file_that_is_not_there_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, factories.make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    missing = tmp_path / "花名册_2026-11-20.csv"
    assert cli.main(["roster", "import", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"error: cannot read {missing}: No such file or directory" in err


def test_a_value_out_of_shape_names_its_field_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, factories.make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    assert cli.main(["yearend", "run", "--region", "99010", "--plan-year", "2025"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error (validation_error)")
    assert "region_code:" in err
    assert "errors.pydantic.dev" not in err


def test_a_database_not_reachable_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/none"
    _use(monkeypatch, factories.make_settings(url, database_timeout_seconds=2))
    assert cli.main(["keys", "list"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error (database_unavailable): ")
    assert "s3cret-pw" not in err
    assert "SETTLECHECK_DATABASE_URL" in err


def test_a_migration_that_stops_says_why_and_keeps_the_revision_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0016")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for code in ("H990102009", "h990102009"):
            conn.execute(
                sa.text(
                    "INSERT INTO hospitals (code, name, county_code, level, tier, designated, "
                    "created_at) VALUES (:code, 'x', '990102', 'secondary', 'county', 1, :now)"
                ),
                {"code": code, "now": now},
            )
    _use(monkeypatch, factories.make_settings(url))
    assert cli.main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error (migration_stopped): codes that differ only by case")
    assert "H990102009, h990102009" in err
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0016"
    engine.dispose()

    assert cli.main(["db", "check"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error (migration): ")
