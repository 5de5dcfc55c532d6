"""`settlecheck roster import FILE`, `settlecheck roster status`, `settlecheck registry standin`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from service.settings import Settings


def register(subparsers: Any) -> None:
    roster = subparsers.add_parser("roster", help="the roster snapshot: import, status")
    actions = roster.add_subparsers(dest="action", required=True)
    load = actions.add_parser("import", help="import a CSV or XLSX roster and swap it in")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--as-of",
        help="when the roster was extracted from the registry (YYYY-MM-DD or an ISO time); "
        "required unless the file name carries the date (roster_2026-11-20.csv)",
    )
    load.add_argument("--rejects", type=Path, help="report path (default FILE.rejects.csv)")
    load.add_argument("--batch-size", type=_batch_size, default=10_000, help="rows per write")
    load.add_argument(
        "--max-reject-ratio",
        type=_ratio,
        default=0.05,
        help="the share of rows (0 to 1) that may be rejected before nothing is loaded",
    )
    load.add_argument(
        "--force",
        action="store_true",
        help="load even if older than the active snapshot or without counties it covers",
    )
    actions.add_parser("status", help="the active snapshot")
    template = actions.add_parser("template", help="write the roster template (CSV or XLSX)")
    template.add_argument("file", type=Path, help="e.g. 花名册模板.xlsx or roster-template.csv")
    roster.set_defaults(handler=cmd_roster)

    registry = subparsers.add_parser("registry", help="the upstream registry: a local stand-in")
    registry_actions = registry.add_subparsers(dest="action", required=True)
    standin = registry_actions.add_parser("standin", help="serve a stand-in registry")
    standin.add_argument("--host", default="127.0.0.1")
    standin.add_argument("--port", type=int, default=8100)
    standin.add_argument("--roster", type=Path, help="serve this roster file (default: demo)")
    registry.set_defaults(handler=cmd_registry)


def _batch_size(text: str) -> int:
    """At least one row: 0 failed once the file was read, and a negative size moved no row
    into the snapshot while the report counted them loaded."""
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"at least 1 row, not {size}")
    return size


def _ratio(text: str) -> float:
    try:
        ratio = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= ratio <= 1:  # NaN too
        raise argparse.ArgumentTypeError(f"a share from 0 to 1, not {text}")
    return ratio


class ProgressBar:
    """On stderr: a redrawn bar on a terminal, a line every ~10% otherwise."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last_tenth = -1

    def __call__(self, rows: int, rejected: int, done: int, total: int) -> None:
        share = done / total if total else 1.0
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * int(share * 30)
        line = (
            f"[{bar:<30}] {share:4.0%} {rows:>11,} rows {rejected:>7,} rejected "
            f"{rate:>9,.0f} rows/s"
        )
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def cmd_roster(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "status":
        return _status(settings)
    if args.action == "template":
        from service.roster.template import write_template

        write_template(args.file)
        print(f"wrote {args.file}: fill one row per person and category (docs/roster.md)")
        return 0
    from service.base import utcnow
    from service.china_time import shown
    from service.identity import IdHasher
    from service.roster.as_of import refuse_future, resolve_as_of, staleness
    from service.roster.importer import import_roster

    as_of = resolve_as_of(args.as_of, args.file)
    print(f"as of {shown(as_of.taken_at)} (from {as_of.source})")
    now = utcnow()
    refuse_future(as_of, now=now)
    warning = staleness(as_of, now=now, stale_after_days=settings.roster_stale_after_days)
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr)
    taken_at = as_of.taken_at
    progress = ProgressBar()
    try:
        report = import_roster(
            args.file,
            database_url=settings.database_url,
            hasher=IdHasher(settings.id_hash_key.get_secret_value().encode()),
            taken_at=taken_at,
            rejects_path=args.rejects,
            batch_size=args.batch_size,
            max_reject_ratio=args.max_reject_ratio,
            force=args.force,
            progress=progress,
        )
    finally:
        progress.close()
    print(
        f"snapshot #{report.snapshot_id} active: {report.rows_loaded:,} rows loaded, "
        f"{report.rows_rejected:,} rejected of {report.rows_read:,} in {report.seconds:.1f}s"
    )
    if report.rejects_path:
        print(f"rejected rows, by line: {report.rejects_path}")
    return 0


def _status(settings: Settings) -> int:
    import sqlalchemy as sa

    from service.base import table_of
    from service.china_time import local_date, shown, today
    from service.roster.importer import sync_url
    from service.roster.models import RosterPointer, RosterSnapshot

    snapshots, pointers = table_of(RosterSnapshot), table_of(RosterPointer)
    engine = sa.create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as conn:
            # Typed columns, not raw text: SQLite hands back a bare UTC string, which read as
            # China time put the extraction on the day before the one the operator gave.
            row = conn.execute(
                sa.select(
                    snapshots.c.id,
                    snapshots.c.source_name,
                    snapshots.c.taken_at,
                    snapshots.c.rows_loaded,
                    snapshots.c.activated_at,
                    snapshots.c.counties,
                )
                .join(pointers, pointers.c.snapshot_id == snapshots.c.id)
                .where(pointers.c.name == "active")
            ).first()
    finally:
        engine.dispose()
    if row is None:
        print("no roster snapshot is active")
        return 1
    ident, name, taken_at, rows, activated_at, counties = row
    age = (today() - local_date(taken_at)).days
    active = shown(activated_at) if activated_at is not None else "?"
    print(
        f"snapshot #{ident} ({name}): {rows:,} rows of counties "
        f"{', '.join(counties or ()) or 'unknown'}, taken {shown(taken_at)} ({age} days ago), "
        f"active since {active}"
    )
    if age > settings.roster_stale_after_days:
        print(
            f"warning: older than SETTLECHECK_ROSTER_STALE_AFTER_DAYS="
            f"{settings.roster_stale_after_days}: import a fresh extract",
            file=sys.stderr,
        )
    return 0


def cmd_registry(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.registry.standin import standin_app

    uvicorn.run(standin_app(args.roster), host=args.host, port=args.port, log_level="warning")
    return 0
