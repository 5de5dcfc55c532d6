"""A snapshot is named by the China date its roster was extracted on, which is the date the
office wrote on the file: an extract "as of 2026-03-01" starts at 00:00 Beijing, 16:00 UTC the
day before, and a UTC date would name the wrong day in every unknown answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from service.admissions.rules import source_notices
from service.persons.person_status import PersonStatus, Source
from service.persons.snapshot import status_from_snapshot
from service.roster.as_of import resolve_as_of
from service.roster.service import SnapshotAnswer


def _extract_of_1_march() -> datetime:
    taken_at = resolve_as_of("2026-03-01", Path("roster.csv")).taken_at
    assert taken_at == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    return taken_at


def test_an_unknown_answer_names_the_day_the_extract_was_taken() -> None:
    answer = SnapshotAnswer(
        snapshot_id=1, taken_at=_extract_of_1_march(), record=None, counties=("990102",)
    )
    status = status_from_snapshot(answer, problem="registry_timeout", insured_county="990101")
    assert status.unknown_reason is not None
    assert "snapshot taken 2026-03-01 covers counties 990102" in status.unknown_reason
    assert "2026-02-28" not in status.unknown_reason


def test_a_snapshot_answer_notice_names_the_day_the_extract_was_taken() -> None:
    status = PersonStatus(
        source=Source.SNAPSHOT,
        registered=True,
        snapshot_taken_at=_extract_of_1_march(),
        registry_problem="registry_timeout",
    )
    [notice] = source_notices(status)
    assert notice.code == "ANSWERED_FROM_SNAPSHOT"
    assert notice.message.endswith("the roster snapshot taken 2026-03-01.")
