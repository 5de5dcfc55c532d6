"""`settlecheck hospitals import FILE`: a county's hospitals from a CSV or XLSX sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.settings import Settings


def register(subparsers: Any) -> None:
    hospitals = subparsers.add_parser("hospitals", help="the hospital directory")
    actions = hospitals.add_subparsers(dest="action", required=True)
    load = actions.add_parser(
        "import",
        help="add or change hospitals from a CSV or XLSX sheet (the API's rules), all or nothing",
    )
    load.add_argument(
        "file", type=Path, help="columns: code, name, county_code, level, tier, designated"
    )
    hospitals.set_defaults(handler=cmd_hospitals)


def cmd_hospitals(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli import _run, _with_unit
    from service.regions.importer import import_hospitals
    from service.roster.sources import RosterFile

    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    rows = RosterFile(args.file).rows()
    report = _run(_with_unit(settings, lambda uow: import_hospitals(uow, rows)))
    for hospital in report.added:
        print(f"added   {hospital.code} {hospital.name} ({hospital.county_code})")
    for stored in report.changed:
        changes = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in stored.changes.items())
        print(f"changed {stored.entry.code}: {changes}")
    print(
        f"{len(report.added)} added, {len(report.changed)} changed, "
        f"{report.unchanged} unchanged (changes reach requests within the directory's TTL)"
    )
    return 0
