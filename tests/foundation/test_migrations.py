"""The same Alembic revisions build and remove the schema on SQLite and PostgreSQL, and match
the models exactly."""

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alembic import command
from service.base import SQLModel
from service.migrations import alembic_config
from tests.factories import POSTGRES_URL


def _sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+psycopg", "+psycopg")


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(_sync_url(url))
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    engine = sa.create_engine(_sync_url(url))
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))
    finally:
        engine.dispose()


def _round_trip(url: str) -> tuple[set[str], list[object], set[str], set[str]]:
    """Upgrade, compare with the models, downgrade, upgrade again: the tables and differences
    seen at each step."""
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    first, diff = _tables(url), _diff(url)
    command.downgrade(cfg, "base")
    emptied = _tables(url)
    command.upgrade(cfg, "head")
    return first, diff, emptied, _tables(url)


def test_migrations_round_trip_on_sqlite(tmp_path: Path) -> None:
    first, diff, emptied, again = _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    assert first == again == set(SQLModel.metadata.tables)
    assert diff == []  # the migrations build exactly the models
    assert emptied == set()  # and downgrade to nothing


@pytest.mark.postgres
def test_migrations_round_trip_on_postgres() -> None:
    assert POSTGRES_URL is not None
    server = POSTGRES_URL.rsplit("/", 1)[0]
    name = f"settlecheck_migrations_{uuid.uuid4().hex[:8]}"  # parallel runs never collide
    engine = sa.create_engine(_sync_url(server + "/postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        first, diff, emptied, again = _round_trip(f"{server}/{name}")
        assert first == again == set(SQLModel.metadata.tables)
        assert diff == []
        assert emptied == set()
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()


def test_every_revision_can_be_downgraded() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(scripts.walk_revisions())
    assert revisions, "no revisions found"
    for rev in revisions:
        source = Path(rev.path).read_text()
        assert "def downgrade" in source
        assert "pass\n" not in source.split("def downgrade", 1)[1][:40], rev.revision
    assert len(scripts.get_heads()) == 1
