"""`settlecheck roster import FILE`: stream the file in bounded batches into a new snapshot,
then flip the active pointer in one transaction; older snapshots' entries are deleted afterwards.

A batch job, so it uses a synchronous engine. How the entries get into roster_entries without
being seen, and fast, is writers.py; how a row is checked is rows.py. Readers only ever see the
snapshot the pointer names.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from service.base import table_of, utcnow
from service.cells import inert
from service.china_time import shown
from service.errors import Conflict, Unprocessable
from service.identity import IdHasher
from service.idtext import redact
from service.regions.models import Region
from service.roster.models import RosterEntry, RosterPointer, RosterSnapshot
from service.roster.rows import Entry, RowParser, RowRejected, header_index
from service.roster.sources import RosterFile, Row
from service.roster.writers import EntryWriter, open_writer

Progress = Callable[[int, int, int, int], None]  # rows, rejected, bytes done, bytes total


class RosterRejected(Unprocessable):
    code = "roster_rejected"


class StaleRoster(Conflict):
    code = "stale_roster"


class RosterDropsCounties(Conflict):
    code = "roster_drops_counties"


class RosterCountyNotRegistered(Unprocessable):
    """Every insured county a roster lists is a county of the directory (docs/directory.md):
    the snapshot answers for its people, judged in or out of county by its code."""

    code = "roster_county_not_registered"


@dataclass
class ImportReport:
    snapshot_id: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejects_path: Path | None
    seconds: float
    previous_snapshot_id: int | None


def sync_url(database_url: str) -> str:
    return database_url.replace("+aiosqlite", "")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Rejects:
    """The line-numbered report of refused rows; masked ID numbers only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: Any = None

    def add(self, line_no: int, exc: RowRejected) -> None:
        if self._file is None:
            self._file = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            self._writer.writerow(["line", "id_number_masked", "field", "reason"])
        # The reason may quote the file's own text: no cell may run as a formula, and an ID
        # number typed one column off is masked, as in any text shown back.
        reason = redact(exc.reason)
        self._writer.writerow([inert(v) for v in (line_no, exc.masked, exc.field, reason)])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def import_roster(
    path: Path,
    *,
    database_url: str,
    hasher: IdHasher,
    taken_at: datetime,
    rejects_path: Path | None = None,
    batch_size: int = 10_000,
    max_reject_ratio: float = 0.05,
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    if batch_size < 1:  # a negative size moved no row into the snapshot (SqliteWriter)
        raise ValueError(f"batch_size is at least 1, not {batch_size}")
    started = utcnow()
    source = RosterFile(path)
    rejects = _Rejects(rejects_path or path.with_name(path.name + ".rejects.csv"))
    engine = _engine(database_url)
    try:
        snapshot_id = _create_snapshot(engine, path, taken_at)
        try:
            read, loaded, counties = _load_entries(
                engine,
                source,
                snapshot_id,
                hasher,
                rejects,
                batch_size=batch_size,
                max_reject_ratio=max_reject_ratio,
                progress=progress,
            )
            counts = (read, loaded, rejects.count)
            previous = _activate(engine, snapshot_id, taken_at, counts, counties, force)
        except BaseException:
            _discard(engine, snapshot_id)
            raise
        _drop_superseded(engine, keep=snapshot_id)
    finally:
        rejects.close()
        engine.dispose()
    return ImportReport(
        snapshot_id=snapshot_id,
        rows_read=read,
        rows_loaded=loaded,
        rows_rejected=rejects.count,
        rejects_path=rejects.path if rejects.count else None,
        seconds=(utcnow() - started).total_seconds(),
        previous_snapshot_id=previous,
    )


def _engine(database_url: str) -> sa.Engine:
    engine = sa.create_engine(sync_url(database_url))
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Loading batches need no fsync each: until the pointer flips they are invisible,
            # and a crash only leaves a 'loading' snapshot behind. The flip itself is FULL.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={30_000}")
            cursor.close()

    return engine


def _create_snapshot(engine: sa.Engine, path: Path, taken_at: datetime) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(RosterSnapshot).values(
                source_name=path.name[:255],
                file_sha256=file_sha256(path),
                taken_at=taken_at,
                state="loading",
                rows_read=0,
                rows_loaded=0,
                rows_rejected=0,
                created_at=utcnow(),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def _load_entries(
    engine: sa.Engine,
    source: RosterFile,
    snapshot_id: int,
    hasher: IdHasher,
    rejects: _Rejects,
    *,
    batch_size: int,
    max_reject_ratio: float,
    progress: Progress | None,
) -> tuple[int, int, set[str]]:
    """Every row checked and written; published only if the file as a whole is acceptable.
    Returns rows read, rows loaded and the insured counties the loaded rows list (a county
    only rejected rows name is not one the snapshot answers for)."""
    with closing(open_writer(engine, snapshot_id, chunk=batch_size)) as writer:
        read, by_county = _stream(source, hasher, writer, rejects, batch_size, progress)
        _check_rejects(read, rejects.count, max_reject_ratio)
        writer.publish()
    by_county.subtract(_reject_repeated(engine, snapshot_id, rejects))
    by_county.subtract(_reject_disagreeing(engine, snapshot_id, rejects))
    _check_rejects(read, rejects.count, max_reject_ratio)
    return read, by_county.total(), {county for county, rows in by_county.items() if rows > 0}


_FAR = date(9999, 12, 31)


def _reject_repeated(engine: sa.Engine, snapshot_id: int, rejects: _Rejects) -> Counter[str]:
    """One row per person and category (docs/roster.md): a row of the same person in the
    same category over days an earlier line already covers (the same row twice, a file
    pasted into itself) is removed and reported, naming the first line it repeats; the
    earliest is kept. Two rows of one category over separate periods (低保 2019-2020, again
    since 2023) are two stays in it. In SQL on the published, still invisible rows, by the
    (snapshot, person) index: memory stays flat however long the file. Returns how many, by
    insured county."""
    later, earlier = table_of(RosterEntry).alias("later"), table_of(RosterEntry).alias("earlier")
    overlapping = sa.and_(
        earlier.c.snapshot_id == later.c.snapshot_id,
        earlier.c.person_key == later.c.person_key,
        earlier.c.category == later.c.category,
        earlier.c.line_no < later.c.line_no,
        earlier.c.valid_from <= sa.func.coalesce(later.c.valid_to, _FAR),
        later.c.valid_from <= sa.func.coalesce(earlier.c.valid_to, _FAR),
    )
    query = (
        sa.select(
            later.c.id,
            later.c.line_no,
            later.c.person_masked,
            sa.func.min(earlier.c.line_no),
            later.c.insured_county,
        )
        .join(earlier, overlapping)
        .where(later.c.snapshot_id == snapshot_id)
        .group_by(later.c.id, later.c.line_no, later.c.person_masked, later.c.insured_county)
        .order_by(later.c.line_no)
    )
    entries = table_of(RosterEntry)
    with engine.begin() as conn:
        repeated = conn.execute(query).all()
        for start in range(0, len(repeated), 1000):
            ids = [row[0] for row in repeated[start : start + 1000]]
            conn.execute(sa.delete(entries).where(entries.c.id.in_(ids)))
    for _, line_no, masked, first, _county in repeated:
        reason = (
            f"repeats line {first}: the same person in the same category over the same days "
            "(one row per person and category)"
        )
        rejects.add(int(line_no), RowRejected("id_number", reason, masked))
    return Counter(str(row[4]) for row in repeated)


def _reject_disagreeing(engine: sa.Engine, snapshot_id: int, rejects: _Rejects) -> Counter[str]:
    """A person's insured county and whether they have died are facts of the person, repeated
    on each of their rows (docs/roster.md): a later row that says otherwise than the person's
    first row is removed and reported, naming that line; the first is kept, as a repeat's is.
    Kept, the two rows would make the person's county or death depend on which row a query
    meets first. Compared with the first row, not with any earlier one: a row that agrees
    with the first is kept though a rejected row between them disagreed. In SQL, as the
    repeats are (run after them: a repeat is reported as one). Returns how many, by insured
    county."""
    entries = table_of(RosterEntry)

    # Each row beside its person's first row: one pass in (person, line) order, no self-join.
    def firsts(column: sa.Column[Any]) -> sa.Over[Any]:
        by_person = sa.func.first_value(column)
        return by_person.over(partition_by=entries.c.person_key, order_by=entries.c.line_no)

    rows = (
        sa.select(
            entries.c.id,
            entries.c.line_no,
            entries.c.person_masked,
            firsts(entries.c.line_no).label("first_line"),
            entries.c.insured_county,
            firsts(entries.c.insured_county).label("first_county"),
            entries.c.deceased,
            firsts(entries.c.deceased).label("first_deceased"),
        )
        .where(entries.c.snapshot_id == snapshot_id)
        .subquery("rows")
    )
    query = (
        sa.select(
            rows.c.id,
            rows.c.line_no,
            rows.c.person_masked,
            rows.c.first_line,
            rows.c.insured_county,
            rows.c.first_county,
            rows.c.deceased,
        )
        .where(
            sa.or_(
                rows.c.insured_county != rows.c.first_county,
                rows.c.deceased != rows.c.first_deceased,
            )
        )
        .order_by(rows.c.line_no)
    )
    with engine.begin() as conn:
        disagreeing = conn.execute(query).all()
        for start in range(0, len(disagreeing), 1000):
            ids = [row[0] for row in disagreeing[start : start + 1000]]
            conn.execute(sa.delete(entries).where(entries.c.id.in_(ids)))
    for _, line_no, masked, first_line, county, first_county, deceased in disagreeing:
        if county != first_county:
            field = "insured_county"
            said = f"insured county {county} where line {first_line} has {first_county}"
        else:
            field = "deceased"
            said = (
                f"deceased {_yes_no(deceased)} where line {first_line} says {_yes_no(not deceased)}"
            )
        reason = (
            f"disagrees with line {first_line}: {said} "
            "(the same person's insured county and death on each of their rows)"
        )
        rejects.add(int(line_no), RowRejected(field, reason, masked))
    return Counter(str(row[4]) for row in disagreeing)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _stream(
    source: RosterFile,
    hasher: IdHasher,
    writer: EntryWriter,
    rejects: _Rejects,
    batch_size: int,
    progress: Progress | None,
) -> tuple[int, Counter[str]]:
    """Rows read, and the rows written by insured county."""
    rows = source.rows()
    parse = _parser(rows, hasher)
    read = 0
    counties: Counter[str] = Counter()
    batch: list[Entry] = []
    for line_no, values in rows:
        read += 1
        try:
            batch.append(parse(values, line_no))
        except RowRejected as exc:
            rejects.add(line_no, exc)
        if len(batch) >= batch_size:
            counties.update(entry[2] for entry in batch)
            writer.write(batch)
            batch = []
            if progress:
                progress(read, rejects.count, source.position, source.size)
    if batch:
        counties.update(entry[2] for entry in batch)
        writer.write(batch)
    if progress:
        progress(read, rejects.count, source.size, source.size)
    return read, counties


def _parser(rows: Iterator[Row], hasher: IdHasher) -> RowParser:
    """The parser for this file's header, its first row."""
    try:
        _, header = next(rows)
    except StopIteration:
        raise RosterRejected("the file is empty") from None
    try:
        return RowParser(header_index(header), hasher)
    except ValueError as exc:
        raise RosterRejected(str(exc)) from None


def _check_rejects(read: int, rejected: int, max_ratio: float) -> None:
    if read == 0:
        raise RosterRejected("the file has a header but no rows")
    if rejected / read > max_ratio:
        raise RosterRejected(
            f"{rejected} of {read} rows were rejected (more than {max_ratio:.0%}); the snapshot "
            "was not swapped in — see the rejects report"
        )


def _activate(
    engine: sa.Engine,
    snapshot_id: int,
    taken_at: datetime,
    counts: tuple[int, int, int],
    counties: set[str],
    force: bool,
) -> int | None:
    """The atomic swap: one transaction moves the pointer and the states.
    `counts` are rows read, loaded and rejected."""
    read, loaded, rejected = counts
    now = utcnow()
    snapshots = table_of(RosterSnapshot)
    pointers = table_of(RosterPointer)
    with engine.connect() as conn, _durable(conn), conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("LOCK TABLE roster_active IN EXCLUSIVE MODE"))
        _refuse_unregistered_counties(conn, counties)
        current = conn.execute(
            sa.select(pointers.c.snapshot_id, snapshots.c.taken_at, snapshots.c.counties)
            .join(snapshots, snapshots.c.id == pointers.c.snapshot_id)
            .where(pointers.c.name == "active")
        ).first()
        if current is not None and not force and _aware(current[1]) > taken_at:
            raise StaleRoster(
                f"the active snapshot was taken {shown(_aware(current[1]))}, after this file; "
                "pass --force to load an older roster"
            )
        if current is not None and not force:
            _refuse_dropped_counties(current[2], counties)
        if current is None:
            conn.execute(
                sa.insert(pointers).values(name="active", snapshot_id=snapshot_id, switched_at=now)
            )
        else:
            conn.execute(
                sa.update(pointers)
                .where(pointers.c.name == "active")
                .values(snapshot_id=snapshot_id, switched_at=now)
            )
            conn.execute(
                sa.update(snapshots).where(snapshots.c.id == current[0]).values(state="superseded")
            )
        conn.execute(
            sa.update(snapshots)
            .where(snapshots.c.id == snapshot_id)
            .values(
                state="active",
                activated_at=now,
                rows_read=read,
                rows_loaded=loaded,
                rows_rejected=rejected,
                counties=sorted(counties),
            )
        )
    return None if current is None else int(current[0])


def _refuse_unregistered_counties(conn: sa.Connection, counties: set[str]) -> None:
    """A county the directory does not hold as a county (a typo, another province's code, a
    county not yet registered) would have its people answered from the roster while no
    hospital, key or policy knows it: register it first (docs/directory.md)."""
    regions = table_of(Region)
    registered = set(
        conn.execute(
            sa.select(regions.c.code).where(
                regions.c.code.in_(sorted(counties)), regions.c.level == "county"
            )
        ).scalars()
    )
    unknown = sorted(counties - registered)
    if unknown:
        raise RosterCountyNotRegistered(
            f"the file lists insured counties that are not registered counties: "
            f"{', '.join(unknown[:20])}{' …' if len(unknown) > 20 else ''}; register them first "
            "(PUT /v1/regions, docs/directory.md) or correct the insured_county column",
            field="insured_county",
        )


def _refuse_dropped_counties(active: list[str] | None, loaded: set[str]) -> None:
    """A load replaces the whole snapshot: a file of one county loaded after a snapshot of two
    would leave the other's people `unknown` whenever the registry is down, unnoticed until
    then. One file must list every county the snapshot is to answer for."""
    dropped = sorted(set(active or ()) - loaded)
    if dropped:
        raise RosterDropsCounties(
            f"the active snapshot covers counties {', '.join(sorted(active or ()))}; this file "
            f"lists none of {', '.join(dropped)}, whose people would go unanswered while the "
            "registry is down (a load replaces the whole snapshot): put every county in one "
            "file, or pass --force to drop them",
            field="insured_county",
        )


@contextmanager
def _durable(conn: sa.Connection) -> Iterator[None]:
    """SQLite: the swap commits with synchronous=FULL, whatever the loading batches used."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA synchronous=FULL")
        conn.commit()
    try:
        yield
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _discard(engine: sa.Engine, snapshot_id: int) -> None:
    """A failed load: mark it and remove its rows (never visible: the pointer never moved)."""
    snapshots = table_of(RosterSnapshot)
    with engine.begin() as conn:
        conn.execute(
            sa.update(snapshots).where(snapshots.c.id == snapshot_id).values(state="failed")
        )
    _delete_entries(engine, snapshot_id)


ABANDONED_AFTER = timedelta(hours=6)
"""A snapshot still 'loading' this long after it began belongs to an import that died (killed,
or the machine went down): a million rows load in well under a minute. The next import to
finish marks it failed and reclaims its rows; a younger one may be a concurrent import."""


def _drop_superseded(engine: sa.Engine, *, keep: int) -> None:
    snapshots = table_of(RosterSnapshot)
    abandoned = sa.and_(
        snapshots.c.state == "loading", snapshots.c.created_at < utcnow() - ABANDONED_AFTER
    )
    with engine.begin() as conn:
        conn.execute(
            sa.update(snapshots).where(snapshots.c.id != keep, abandoned).values(state="failed")
        )
        old = (
            conn.execute(
                sa.select(snapshots.c.id).where(
                    snapshots.c.id != keep, snapshots.c.state.in_(["superseded", "failed"])
                )
            )
            .scalars()
            .all()
        )
    for snapshot_id in old:
        _delete_entries(engine, int(snapshot_id))


def _delete_entries(engine: sa.Engine, snapshot_id: int, chunk: int = 50_000) -> None:
    """On SQLite in chunks, so a million-row delete never holds the write lock for long;
    PostgreSQL locks only the rows, and one statement is several times faster there."""
    entries = table_of(RosterEntry)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.delete(entries).where(entries.c.snapshot_id == snapshot_id))
        return
    while True:
        with engine.begin() as conn:
            ids = sa.select(entries.c.id).where(entries.c.snapshot_id == snapshot_id).limit(chunk)
            deleted = conn.execute(sa.delete(entries).where(entries.c.id.in_(ids))).rowcount
        if not deleted:
            return
