"""Roster files are read row by row, each row with the line it starts on."""

from __future__ import annotations

from pathlib import Path

from service.roster.sources import RosterFile


def test_a_quoted_cell_with_line_breaks_does_not_shift_later_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text('id,note\n1,"two\nlines"\n2,plain\n\n3,"a\nb\nc"\n4,end\n', encoding="utf-8")
    rows = list(RosterFile(path).rows())
    assert [(line, values[0]) for line, values in rows] == [
        (1, "id"),
        (2, "1"),
        (4, "2"),
        (6, "3"),
        (9, "4"),
    ]
