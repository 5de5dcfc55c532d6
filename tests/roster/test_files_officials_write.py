"""Roster files as county offices write them: Chinese headers and category names, dates in the
forms Excel produces, the shipped template, and an extraction date that is never guessed."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from service import china_time, cli
from service.roster.as_of import resolve_as_of, staleness
from service.roster.importer import import_roster
from service.roster.rows import COLUMNS
from service.roster.service import find_in_snapshot
from service.roster.template import EXAMPLE_ROWS, header, write_template
from service.settings import Settings
from tests import factories

DOCS_TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "roster" / "roster-template.csv"


def _write(path: Path, head: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(head)
        writer.writerows(rows)
    return path


async def _categories(app: FastAPI, id_number: str) -> list[tuple[str, date]]:
    async with app.state.sessionmaker() as session:
        answer = await find_in_snapshot(session, app.state.id_hasher.key_of(id_number))
    assert answer is not None
    assert answer.record is not None
    return sorted((c.code, c.valid_from) for c in answer.record.categories)


@pytest.fixture
def use_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    return settings


async def test_chinese_names_and_office_dates_are_read_as_codes(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    a, b, c = (factories.resident_id(seq=n) for n in (11, 12, 13))
    path = _write(
        tmp_path / "花名册.csv",
        header(),
        [
            [a, "990102", "低保对象", "2024/1/1", "", "否", "2027年12月31日", ""],
            [b, "990102", " 特困供养人员 ", "2023.07.01", "", "否", "20271231", ""],
            [c, "990102", "防返贫监测对象", "2022-03-01", "", "否", "", ""],
            [c, "990102", "脱贫人口", "2021-01-01", "", "否", "", ""],
        ],
    )
    report = import_roster(
        path, database_url=settings.database_url, hasher=app.state.id_hasher,
        taken_at=datetime.now(UTC),
    )  # fmt: skip
    assert (report.rows_loaded, report.rows_rejected) == (4, 0)
    assert await _categories(app, a) == [("minimum_living", date(2024, 1, 1))]
    assert await _categories(app, b) == [("destitute", date(2023, 7, 1))]
    assert await _categories(app, c) == [
        ("lifted_out", date(2021, 1, 1)),
        ("monitored_unstable", date(2022, 3, 1)),
    ]


async def test_an_unknown_name_is_rejected_with_its_column(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    good = [factories.resident_id(seq=n) for n in range(20, 40)]
    rows = [[i, "990102", "低保户", "2024-01-01", "", "否", "", ""] for i in good]
    rows.append([factories.resident_id(seq=41), "990102", "贫困", "2024-01-01", "", "否", "", ""])
    rows.append([factories.resident_id(seq=42), "990102", "低保户", "2024-13-01", "", "", "", ""])
    path = _write(tmp_path / "r.csv", header(), rows)
    report = import_roster(
        path, database_url=settings.database_url, hasher=app.state.id_hasher,
        taken_at=datetime.now(UTC), max_reject_ratio=0.2,
    )  # fmt: skip
    assert (report.rows_loaded, report.rows_rejected) == (20, 2)
    rejects = report.rejects_path.read_text(encoding="utf-8-sig")
    assert "category" in rejects
    assert "贫困" in rejects
    assert "docs/roster.md" in rejects
    assert "valid_from" in rejects


@pytest.mark.parametrize("name", ["花名册模板.xlsx", "roster-template.csv"])
async def test_the_template_imports_cleanly(
    app: FastAPI, use_settings: Settings, tmp_path: Path, name: str
) -> None:
    template = tmp_path / name
    assert cli.main(["roster", "template", str(template)]) == 0
    dated = template.with_name(f"{template.stem}_2026-11-20{template.suffix}")
    template.rename(dated)
    assert cli.main(["roster", "import", str(dated)]) == 0
    async with app.state.sessionmaker() as session:
        first = await find_in_snapshot(session, app.state.id_hasher.key_of(str(EXAMPLE_ROWS[0][0])))
    assert first is not None
    assert first.taken_at.astimezone(UTC) == datetime(2026, 11, 19, 16, tzinfo=UTC)  # 0:00 +08
    assert first.record is not None
    assert [c.code for c in first.record.categories] == ["lifted_out"]


def test_the_documented_template_is_the_one_the_command_writes(tmp_path: Path) -> None:
    write_template(tmp_path / "t.csv")
    assert DOCS_TEMPLATE.read_bytes() == (tmp_path / "t.csv").read_bytes()


async def test_without_an_extraction_date_nothing_is_imported(
    app: FastAPI,
    use_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write(tmp_path / "roster.csv", list(COLUMNS), [])
    path.touch()  # a file copied today: its modification time says nothing about its age
    assert cli.main(["roster", "import", str(path)]) == 2
    assert "--as-of" in capsys.readouterr().err
    assert cli.main(["roster", "status"]) == 1


async def test_an_old_extract_is_imported_with_a_warning(
    app: FastAPI,
    use_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = [factories.resident_id(seq=50), "990102", "低保对象", "2024-01-01", "", "否", "", ""]
    path = _write(tmp_path / "roster.csv", header(), [row])
    old = china_time.today() - timedelta(days=45)
    assert cli.main(["roster", "import", str(path), "--as-of", old.isoformat()]) == 0
    err = capsys.readouterr().err
    assert f"45 days ago ({old.isoformat()})" in err
    assert "SETTLECHECK_ROSTER_STALE_AFTER_DAYS=30" in err

    fresh = (china_time.today() - timedelta(days=2)).isoformat()
    assert cli.main(["roster", "import", str(path), "--as-of", fresh]) == 0
    assert "warning" not in capsys.readouterr().err


async def test_an_extract_dated_in_the_future_is_refused_and_loads_nothing(
    app: FastAPI,
    use_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """2062 for 2026: loaded, it would read as fresh for decades and refuse every true extract
    after it as older than the active snapshot."""
    row = [factories.resident_id(seq=51), "990102", "低保对象", "2024-01-01", "", "否", "", ""]
    path = _write(tmp_path / "roster.csv", header(), [row])
    typo = china_time.today() + timedelta(days=2)
    assert cli.main(["roster", "import", str(path), "--as-of", typo.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "roster_as_of_in_future" in err
    assert typo.isoformat() in err
    assert cli.main(["roster", "status"]) == 1  # nothing was swapped in

    named = _write(tmp_path / f"roster_{typo:%Y-%m-%d}.csv", header(), [row])
    assert cli.main(["roster", "import", str(named)]) == 2
    assert "roster_as_of_in_future" in capsys.readouterr().err

    today = china_time.today().isoformat()
    assert cli.main(["roster", "import", str(path), "--as-of", today]) == 0


def test_the_age_of_an_extract_is_counted_in_china_days_across_utc_midnight() -> None:
    # 16:30 UTC on 29 November is 00:30 on the 30th in Beijing: the extract of 15 October is
    # 46 China days old and is named by the date the operator wrote, not the UTC date before it.
    as_of = resolve_as_of("2026-10-15", Path("roster.csv"))
    warning = staleness(as_of, now=datetime(2026, 11, 29, 16, 30, tzinfo=UTC), stale_after_days=30)
    assert warning is not None
    assert "46 days ago (2026-10-15)" in warning
    assert (
        staleness(as_of, now=datetime(2026, 11, 13, 15, 0, tzinfo=UTC), stale_after_days=30) is None
    )


async def test_the_status_shows_the_extraction_day_the_operator_gave_and_the_counties(
    app: FastAPI,
    use_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--as-of 2026-11-20` is 16:00 UTC on the 19th: shown bare, the status put the extract on
    the day before the one the operator gave."""
    rows = [
        [factories.resident_id(seq=61), "990102", "低保对象", "2024-01-01", "", "否", "", ""],
        [factories.resident_id(seq=62), "990103", "低保对象", "2024-01-01", "", "否", "", ""],
    ]
    path = _write(tmp_path / "roster.csv", header(), rows)
    old = china_time.today() - timedelta(days=40)
    assert cli.main(["roster", "import", str(path), "--as-of", old.isoformat()]) == 0
    capsys.readouterr()
    assert cli.main(["roster", "status"]) == 0
    out, err = capsys.readouterr()
    assert f"taken {old.isoformat()}T00:00:00+08:00 (40 days ago)" in out
    assert "counties 990102, 990103" in out
    assert "SETTLECHECK_ROSTER_STALE_AFTER_DAYS=30" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--batch-size", "0"), ("--batch-size", "-1"), ("--max-reject-ratio", "-0.1")],
)
async def test_a_batch_size_or_reject_ratio_that_cannot_be_is_refused_before_reading(
    app: FastAPI, use_settings: Settings, tmp_path: Path, option: str, value: str
) -> None:
    """A batch of no rows (or fewer) or a negative share of rejects is a typo: refused with
    the option's name, the active snapshot as it was, not an empty snapshot swapped in while
    the report counts the rows as loaded, nor a traceback after the file was read."""
    a = factories.resident_id(seq=21)
    path = _write(tmp_path / "roster.csv", header(), [[a, "990102", "低保对象", "2024-01-01"]])
    with pytest.raises(SystemExit) as refused:
        cli.main(["roster", "import", str(path), "--as-of", "2026-11-20", option, value])
    assert refused.value.code == 2
    assert cli.main(["roster", "status"]) == 1  # no snapshot was swapped in
