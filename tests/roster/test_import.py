"""Importing a roster: streamed, line-numbered rejects, atomic swap, and the snapshot answers."""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from openpyxl import Workbook

from service.errors import Conflict, Unprocessable
from service.identity import mask_resident_id
from service.roster.importer import RosterRejected, StaleRoster, import_roster, sync_url
from service.roster.rows import COLUMNS
from service.roster.service import find_in_snapshot
from service.settings import Settings
from tests import factories

A = factories.resident_id(seq=701)
B = factories.resident_id(seq=702)


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def _row(id_number: str, category: str = "registered_poor", **kw: str) -> list[str]:
    values = {
        "id_number": id_number,
        "insured_county": "990102",
        "category": category,
        "valid_from": "2016-01-01",
        "valid_to": "",
        "deceased": "no",
        "family_doctor_until": "2027-12-31",
        "chronic_card_until": "",
    } | kw
    return [values[c] for c in COLUMNS]


def _others(count: int, first: int = 800) -> list[list[str]]:
    """Rows of `count` other people: one row per person and category, as a file has it."""
    return [_row(factories.resident_id(seq=first + i)) for i in range(count)]


def _import(app: FastAPI, settings: Settings, path: Path, **kw: Any) -> Any:
    kw.setdefault("taken_at", datetime.now(UTC))
    return import_roster(
        path, database_url=settings.database_url, hasher=app.state.id_hasher, batch_size=2, **kw
    )


async def _entry_lines(app: FastAPI, snapshot_id: int) -> list[int]:
    async with app.state.sessionmaker() as s:
        rows = await s.exec(  # type: ignore[call-overload]
            sa.text("SELECT line_no FROM roster_entries WHERE snapshot_id = :s ORDER BY line_no"),
            params={"s": snapshot_id},
        )
        return [r[0] for r in rows]


async def _lookup(app: FastAPI, id_number: str) -> object:
    async with app.state.sessionmaker() as s:
        return await find_in_snapshot(s, app.state.id_hasher.key_of(id_number))


async def test_a_csv_roster_is_imported_with_a_line_numbered_reject_report(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    bad_check = A[:-1] + ("0" if A[-1] != "0" else "1")
    path = _write_csv(
        tmp_path / "roster.csv",
        [
            _row(A),
            _row(A, "minimum_living", chronic_card_until="2027-01-01"),
            _row(B, "destitute", deceased="yes"),
            _row(bad_check),
            _row(B, "Destitute!"),
            _row(B, valid_from="2016-13-01"),
        ]
        + [_row(factories.resident_id(seq=710 + i)) for i in range(60)],
    )
    report = _import(app, settings, path, taken_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (66, 63, 3)  # type: ignore[attr-defined]
    assert await _entry_lines(app, report.snapshot_id) == [*range(2, 5), *range(8, 68)]  # type: ignore[attr-defined]
    with report.rejects_path.open() as f:  # type: ignore[attr-defined]
        rejects = list(csv.DictReader(f))
    assert [(r["line"], r["field"]) for r in rejects] == [
        ("5", "id_number"),
        ("6", "category"),
        ("7", "valid_from"),
    ]
    assert "check digit" in rejects[0]["reason"]
    assert rejects[1]["id_number_masked"] == B[:6] + "********" + B[-4:]
    assert A not in report.rejects_path.read_text()  # type: ignore[attr-defined]
    a = await _lookup(app, A)
    assert a is not None
    assert a.record is not None
    assert {c.code for c in a.record.categories} == {"registered_poor", "minimum_living"}  # type: ignore[attr-defined]
    assert a.record.chronic_card_valid_on(date(2026, 3, 1))  # type: ignore[attr-defined]
    b = await _lookup(app, B)
    assert b.record.deceased is True  # type: ignore[attr-defined]


async def test_an_xlsx_roster_is_imported(app: FastAPI, settings: Settings, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["身份证号", "参保地", "类别", "起始日期", "终止日期"])
    sheet.append([A, "990102", "lifted_out", datetime(2021, 1, 1), None])
    sheet.append([12345678901234567, "990102", "lifted_out", "2021-01-01", None])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    report = _import(app, settings, path, max_reject_ratio=0.5)
    assert (report.rows_loaded, report.rows_rejected) == (1, 1)  # type: ignore[attr-defined]
    found = await _lookup(app, A)
    assert found.record.categories[0].valid_from == date(2021, 1, 1)  # type: ignore[attr-defined]


async def test_a_new_import_swaps_atomically_and_drops_the_old_rows(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    first = _import(app, settings, _write_csv(tmp_path / "1.csv", [_row(A)]))
    second = _import(
        app, settings, _write_csv(tmp_path / "2.csv", [_row(B)]), taken_at=datetime.now(UTC)
    )
    assert second.previous_snapshot_id == first.snapshot_id  # type: ignore[attr-defined]
    assert (await _lookup(app, A)).record is None  # type: ignore[attr-defined]
    assert (await _lookup(app, B)).record is not None  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as s:
        snapshot = await factories.active_snapshot(s)
        assert snapshot is not None
        assert snapshot.id == second.snapshot_id
        left = (await s.exec(sa.text("SELECT DISTINCT snapshot_id FROM roster_entries"))).all()  # type: ignore[call-overload]
    assert [r[0] for r in left] == [second.snapshot_id]  # type: ignore[attr-defined]


async def test_a_failed_import_leaves_the_active_snapshot_answering(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    _import(app, settings, _write_csv(tmp_path / "good.csv", [_row(A)]))
    mostly_bad = [_row(B)] + [_row("123")] * 5
    with pytest.raises(RosterRejected, match="rejected"):
        _import(app, settings, _write_csv(tmp_path / "bad.csv", mostly_bad))
    assert (await _lookup(app, A)).record is not None  # type: ignore[attr-defined]
    assert (await _lookup(app, B)).record is None  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as s:
        count = (await s.exec(sa.text("SELECT count(*) FROM roster_entries"))).one()  # type: ignore[call-overload]
    assert count[0] == 1  # the failed load's rows are gone


async def test_an_older_roster_does_not_replace_a_newer_one(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    _import(
        app,
        settings,
        _write_csv(tmp_path / "new.csv", [_row(A)]),
        taken_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    old = _write_csv(tmp_path / "old.csv", [_row(B)])
    with pytest.raises(StaleRoster):
        _import(app, settings, old, taken_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert (await _lookup(app, A)).record is not None  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as s:
        count = (await s.exec(sa.text("SELECT count(*) FROM roster_entries"))).one()  # type: ignore[call-overload]
    assert count[0] == 1  # the refused file's rows were loaded, then removed
    _import(app, settings, old, taken_at=datetime(2025, 1, 1, tzinfo=UTC), force=True)
    assert (await _lookup(app, B)).record is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("id_number,category\n", "insured_county"),
        (",".join(COLUMNS) + "\n", "no rows"),
    ],
)
async def test_unusable_files_are_refused(
    app: FastAPI, settings: Settings, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(RosterRejected, match=message):
        _import(app, settings, path)
    async with app.state.sessionmaker() as s:
        assert await factories.active_snapshot(s) is None


async def test_the_cli_imports_and_reports(
    app: FastAPI,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service import cli

    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    path = _write_csv(tmp_path / "r.csv", [_row(A), _row("bad"), *_others(30)])
    assert (
        cli.main(
            ["roster", "import", str(path), "--as-of", "2026-11-20", "--max-reject-ratio", "0.5"]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "31 rows loaded, 1 rejected of 32" in out
    assert "rows/s" in err
    assert cli.main(["roster", "status"]) == 0
    assert "31 rows" in capsys.readouterr().out


async def test_while_a_file_loads_readers_keep_the_old_snapshot_and_writers_are_free(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    _import(app, settings, _write_csv(tmp_path / "old.csv", [_row(A)]))
    url = sync_url(settings.database_url)
    reader = sa.create_engine(url)
    seen: list[tuple[str, ...]] = []

    def progress(rows: int, rejected: int, done: int, total: int) -> None:
        with reader.connect() as conn:  # what the service would answer right now
            seen.append(tuple(conn.execute(_ACTIVE_PEOPLE).scalars()))
        if reader.dialect.name == "sqlite":  # no write lock is held between batches
            writer = sqlite3.connect(sa.engine.make_url(url).database or "", timeout=0)
            writer.execute("BEGIN IMMEDIATE")
            writer.rollback()
            writer.close()

    hasher = app.state.id_hasher
    new = _write_csv(
        tmp_path / "new.csv", [_row(factories.resident_id(seq=800 + i)) for i in range(9)]
    )
    try:
        report = import_roster(
            new,
            database_url=settings.database_url,
            hasher=hasher,
            taken_at=datetime.now(UTC),
            batch_size=2,
            progress=progress,
        )
    finally:
        reader.dispose()
    assert len(seen) == 5  # after each of the four full batches, and at the end of the file
    assert set(seen) == {(hasher.key_of(A),)}
    assert report.rows_loaded == 9
    assert (await _lookup(app, A)).record is None  # type: ignore[attr-defined]


_ACTIVE_PEOPLE = sa.text(
    "SELECT e.person_key FROM roster_entries e "
    "JOIN roster_active a ON a.snapshot_id = e.snapshot_id WHERE a.name = 'active'"
)


async def test_an_id_number_that_breaks_the_reference_check_is_one_rejected_row(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    superscript = A[:15] + "\u00b2" + A[16:]  # '²': a digit to str.isdigit(), not to int()
    rows = [_row(A), _row(superscript), *_others(30)]
    report = _import(app, settings, _write_csv(tmp_path / "r.csv", rows))
    assert (report.rows_loaded, report.rows_rejected) == (31, 1)  # type: ignore[attr-defined]
    assert "3,,id_number," in report.rejects_path.read_text()  # type: ignore[attr-defined]


async def test_rows_of_an_import_that_died_are_reclaimed_by_the_next_one(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    from datetime import timedelta

    from service.roster.importer import ABANDONED_AFTER

    now = datetime.now(UTC)
    async with app.state.sessionmaker() as s:
        for name, started in (
            ("died", now - ABANDONED_AFTER - timedelta(minutes=1)),
            ("busy", now),
        ):
            snapshot = await s.exec(  # type: ignore[call-overload]
                sa.text(
                    "INSERT INTO roster_snapshots (source_name, file_sha256, taken_at, state, "
                    "rows_read, rows_loaded, rows_rejected, created_at) VALUES "
                    "(:name, '', :at, 'loading', 0, 0, 0, :at) RETURNING id"
                ),
                params={"name": name, "at": started},
            )
            snapshot_id = snapshot.one()[0]
            await s.exec(  # type: ignore[call-overload]
                sa.text(
                    "INSERT INTO roster_entries (snapshot_id, person_key, person_masked, "
                    "insured_county, category, valid_from, deceased, line_no) VALUES "
                    "(:id, 'k', 'm', '990102', 'destitute', '2016-01-01', false, 2)"
                ),
                params={"id": snapshot_id},
            )
        await s.commit()

    _import(app, settings, _write_csv(tmp_path / "next.csv", [_row(A)]), taken_at=now)

    async with app.state.sessionmaker() as s:
        states = dict(
            (await s.exec(sa.text("SELECT source_name, state FROM roster_snapshots"))).all()  # type: ignore[call-overload]
        )
        kept = (
            await s.exec(  # type: ignore[call-overload]
                sa.text(
                    "SELECT s.source_name FROM roster_entries e "
                    "JOIN roster_snapshots s ON s.id = e.snapshot_id WHERE s.state != 'active'"
                )
            )
        ).all()
    assert states["died"] == "failed"
    assert states["busy"] == "loading"
    assert [r[0] for r in kept] == ["busy"]  # a young 'loading' snapshot may be a live import


async def test_the_snapshot_records_which_counties_it_covers(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """ADR 0011: a person missing from a snapshot that does not cover their county is unknown."""
    rows = [_row(A), _row(B, insured_county="990103"), _row(A, category="lifted_out")]
    _import(app, settings, _write_csv(tmp_path / "c.csv", rows))  # batches of 2: both counted
    async with app.state.sessionmaker() as s:
        answer = await find_in_snapshot(s, app.state.id_hasher.key_of(A))
    assert answer is not None
    assert answer.counties == ("990102", "990103")


async def test_an_id_number_in_a_shifted_column_is_masked_in_the_reject_report(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    # A row typed one column off: the ID number lands in the category or a date column, whose
    # reason quotes the cell.
    path = _write_csv(
        tmp_path / "roster.csv",
        [_row(B, category=A), _row(B, valid_from=A), _row(B, valid_to=A[:17])]
        + [_row(factories.resident_id(seq=730 + i)) for i in range(60)],
    )
    report = _import(app, settings, path, taken_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert report.rows_rejected == 3  # type: ignore[attr-defined]
    with report.rejects_path.open() as f:  # type: ignore[attr-defined]
        rejects = list(csv.DictReader(f))
    assert [r["field"] for r in rejects] == ["category", "valid_from", "valid_to"]
    text = report.rejects_path.read_text()  # type: ignore[attr-defined]
    assert A[:17] not in text
    assert [r["reason"].count(A[:6] + "********") for r in rejects] == [1, 1, 1]


async def test_a_file_without_a_county_the_snapshot_covers_does_not_replace_it(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """A load replaces the whole snapshot: 990103's office loading its own file after the
    prefecture's file of both counties would leave 990102's people unanswerable in an outage."""
    both = [_row(A), _row(B, insured_county="990103")]
    _import(app, settings, _write_csv(tmp_path / "both.csv", both))
    one = _write_csv(tmp_path / "990103.csv", [_row(B, insured_county="990103")])
    with pytest.raises(Conflict) as refused:
        _import(app, settings, one)
    assert refused.value.code == "roster_drops_counties"
    assert "990102" in refused.value.detail
    async with app.state.sessionmaker() as s:
        kept = await find_in_snapshot(s, app.state.id_hasher.key_of(A))
        count = (await s.exec(sa.text("SELECT count(*) FROM roster_entries"))).one()  # type: ignore[call-overload]
    assert kept is not None
    assert kept.record is not None
    assert kept.counties == ("990102", "990103")
    assert count[0] == 2  # the refused file's rows were loaded, then removed

    _import(
        app,
        settings,
        _write_csv(tmp_path / "again.csv", [*both, _row(B, "lifted_out", insured_county="990103")]),
    )
    _import(app, settings, one, force=True)
    async with app.state.sessionmaker() as s:
        dropped = await find_in_snapshot(s, app.state.id_hasher.key_of(B))
    assert dropped is not None
    assert dropped.counties == ("990103",)


async def test_a_snapshot_swapped_between_the_two_reads_is_not_read_as_absence(
    app: FastAPI, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request read the active snapshot's id; a load then swapped a new one in and dropped the
    old one's rows before the request read them."""
    from service.roster.store import SqlRosterStore

    first = _import(app, settings, _write_csv(tmp_path / "1.csv", [_row(A)]))
    async with app.state.sessionmaker() as s:
        before_swap = await SqlRosterStore(s).active_id()
    _import(app, settings, _write_csv(tmp_path / "2.csv", [_row(A), _row(B)]))
    assert before_swap is not None
    assert before_swap[0] == first.snapshot_id

    real = SqlRosterStore.active_id
    calls = 0

    async def read_before_the_swap(self: SqlRosterStore) -> Any:
        nonlocal calls
        calls += 1
        return before_swap if calls == 1 else await real(self)

    monkeypatch.setattr(SqlRosterStore, "active_id", read_before_the_swap)
    async with app.state.sessionmaker() as s:
        answer = await find_in_snapshot(s, app.state.id_hasher.key_of(A))
    assert answer is not None
    assert answer.record is not None
    assert answer.snapshot_id != first.snapshot_id


@pytest.mark.parametrize("county", ["990199", "990100", "110101"])
async def test_a_roster_of_a_county_not_registered_is_refused_naming_it(
    app: FastAPI, settings: Settings, tmp_path: Path, county: str
) -> None:
    """A county the directory does not hold as a county (not registered, or a prefecture) is
    answered for by no hospital, key or policy: the file is refused and loads nothing."""
    _import(app, settings, _write_csv(tmp_path / "first.csv", [_row(A)]))
    rows = [_row(A), _row(B, insured_county=county)]
    with pytest.raises(Unprocessable) as refused:
        _import(app, settings, _write_csv(tmp_path / "typo.csv", rows), force=True)
    assert refused.value.code == "roster_county_not_registered"
    assert [e.field for e in refused.value.errors] == ["insured_county"]
    assert county in refused.value.detail
    assert "990102" not in refused.value.detail
    async with app.state.sessionmaker() as s:
        kept = await find_in_snapshot(s, app.state.id_hasher.key_of(A))
        count = (await s.exec(sa.text("SELECT count(*) FROM roster_entries"))).one()  # type: ignore[call-overload]
    assert kept is not None
    assert kept.counties == ("990102",)
    assert count[0] == 1


async def test_a_person_repeated_in_a_category_over_the_same_days_keeps_the_first_row(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """One row per person and category: a repeated row goes to the reject report naming the
    line it repeats; another category, or a separate period of the same one, is kept."""
    rows = [
        _row(A, valid_from="2016-01-01", valid_to="2019-12-31"),  # line 2
        _row(B),  # line 3
        _row(A, valid_from="2016-01-01", valid_to="2019-12-31"),  # line 4: the same again
        _row(A, valid_from="2021-01-01"),  # line 5: a separate period
        _row(A, category="lifted_out"),  # line 6: another category
        _row(A, valid_from="2019-06-01", valid_to="2020-06-30"),  # line 7: overlaps line 2
        *[_row(factories.resident_id(seq=760 + i)) for i in range(40)],
    ]
    report = _import(app, settings, _write_csv(tmp_path / "twice.csv", rows))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (46, 44, 2)
    with report.rejects_path.open() as f:
        rejects = list(csv.DictReader(f))
    assert [(r["line"], r["field"]) for r in rejects] == [("4", "id_number"), ("7", "id_number")]
    assert rejects[0]["reason"].startswith("repeats line 2:")
    assert rejects[0]["id_number_masked"] == mask_resident_id(A)
    lines = await _entry_lines(app, report.snapshot_id)
    assert 4 not in lines
    assert 7 not in lines
    assert {2, 3, 5, 6} <= set(lines)


async def test_a_later_row_that_disagrees_on_the_persons_county_or_death_is_rejected(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """The insured county and death are the person's: a later row of the person that says
    otherwise than the first goes to the reject report naming the first line, so the loaded
    roster answers one county and one death for the person, whatever row a query meets."""
    rows = [
        _row(A),  # line 2: county 990102, living
        _row(B),  # line 3
        _row(A, category="lifted_out", insured_county=factories.NEIGHBOUR_COUNTY),  # line 4
        _row(A, category="destitute", deceased="yes"),  # line 5
        _row(A, category="minimum_living"),  # line 6: agrees with line 2
        _row(B, category="lifted_out", valid_from="2021-01-01"),  # line 7: agrees with line 3
        *_others(40),
    ]
    report = _import(app, settings, _write_csv(tmp_path / "disagree.csv", rows))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (46, 44, 2)
    with report.rejects_path.open() as f:
        rejects = list(csv.DictReader(f))
    assert [(r["line"], r["field"]) for r in rejects] == [
        ("4", "insured_county"),
        ("5", "deceased"),
    ]
    assert rejects[0]["reason"].startswith("disagrees with line 2:")
    assert factories.NEIGHBOUR_COUNTY in rejects[0]["reason"]
    assert rejects[1]["reason"].startswith("disagrees with line 2:")
    assert all(r["id_number_masked"] == mask_resident_id(A) for r in rejects)
    lines = await _entry_lines(app, report.snapshot_id)
    assert 4 not in lines
    assert 5 not in lines
    assert {2, 3, 6, 7} <= set(lines)
    async with app.state.sessionmaker() as s:
        found = await find_in_snapshot(s, app.state.id_hasher.key_of(A))
    assert found is not None
    assert found.record is not None
    assert found.record.insured_county == factories.COUNTY
    assert found.record.deceased is False
    assert {c.code for c in found.record.categories} == {"registered_poor", "minimum_living"}


async def test_repeated_rows_count_towards_the_reject_ratio(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(RosterRejected):
        _import(app, settings, _write_csv(tmp_path / "pasted.csv", [_row(A), _row(A)]))
    async with app.state.sessionmaker() as s:
        assert await find_in_snapshot(s, app.state.id_hasher.key_of(A)) is None


async def test_a_county_only_a_rejected_row_names_is_not_one_the_snapshot_covers(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """The snapshot's counties are those of the rows it holds: a county named only by a row
    rejected for disagreeing with the person's first row is not claimed as covered (its people
    would be told 'covers county … but does not list this person'), nor does next month's
    file, which lists nobody of it, 'drop' it."""
    rows = [
        _row(A),  # line 2: county 990102
        _row(A, category="lifted_out", insured_county=factories.NEIGHBOUR_COUNTY),  # rejected
        *_others(40),
    ]
    first = _import(app, settings, _write_csv(tmp_path / "first.csv", rows))
    assert first.rows_rejected == 1
    async with app.state.sessionmaker() as s:
        found = await find_in_snapshot(s, app.state.id_hasher.key_of(B))
    assert found is not None
    assert found.counties == (factories.COUNTY,)
    again = _import(app, settings, _write_csv(tmp_path / "next.csv", [_row(A), *_others(40)]))
    assert again.rows_rejected == 0


async def test_a_blank_row_of_a_csv_is_no_row_and_no_reject(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """A blank row a spreadsheet program saved as a line of commas is skipped, as in an XLSX:
    not a reject ('id_number is required') counted against the file."""
    blank = [""] * len(COLUMNS)
    report = _import(app, settings, _write_csv(tmp_path / "blank.csv", [_row(A), blank, _row(B)]))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 2, 0)
    assert await _entry_lines(app, report.snapshot_id) == [2, 4]
