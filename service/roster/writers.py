"""Writing a snapshot's entries into roster_entries: fast, and unseen until the swap.

A writer takes the checked rows batch by batch while the file is read (`write`), and makes them
part of the snapshot only once the whole file has passed (`publish`). A load refused for too
many rejects is never published: on SQLite it stayed in a temporary table, on PostgreSQL its
transaction rolls back. Even published rows stay invisible until the pointer flips
(importer._activate).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Protocol

import sqlalchemy as sa

from service.roster.models import ENTRY_COLUMNS
from service.roster.rows import Entry

_ENTRY_FIELDS = ENTRY_COLUMNS[1:]  # an Entry is a row without its snapshot_id


class EntryWriter(Protocol):
    def write(self, batch: list[Entry]) -> None: ...

    def publish(self) -> None: ...

    def close(self) -> None: ...


def open_writer(engine: sa.Engine, snapshot_id: int, *, chunk: int) -> EntryWriter:
    if engine.dialect.name == "postgresql":
        return PostgresWriter(engine, snapshot_id)
    return SqliteWriter(engine, snapshot_id, chunk=chunk)


class SqliteWriter:
    """Stage in a TEMP table, then move across sorted by person_key, a chunk per transaction.

    The person_key index is what makes a naive load slow: keys are HMACs, so every batch
    dirtied pages all over a growing index and each commit rewrote most of it into the WAL
    (more than half the time of a million-row load). The TEMP table has no index, is private to this
    connection and takes no lock on the database, so reading the file never holds up other
    writers. Moved in key order, the new snapshot's index entries are appended at one edge
    (snapshot_id leads the index) and each short transaction writes only new pages.
    """

    def __init__(self, engine: sa.Engine, snapshot_id: int, *, chunk: int) -> None:
        self._snapshot_id = snapshot_id
        self._chunk = chunk
        self._conn = engine.connect()
        # The stage is as big as the file: keep it on disk, whatever SQLite was built with.
        self._conn.exec_driver_sql("PRAGMA temp_store=FILE")
        # Untyped columns keep values as the driver binds them; roster_entries' types apply
        # when they move across, exactly as if they had been inserted there directly.
        self._conn.exec_driver_sql(f"CREATE TEMP TABLE roster_stage ({', '.join(_ENTRY_FIELDS)})")
        self._conn.commit()

    def write(self, batch: list[Entry]) -> None:
        marks = ", ".join("?" for _ in _ENTRY_FIELDS)
        self._conn.exec_driver_sql(f"INSERT INTO temp.roster_stage VALUES ({marks})", batch)
        self._conn.commit()

    def publish(self) -> None:
        # Sorting into a second table numbers the rows in key order, so the move can go by
        # rowid ranges; SQLite's sorter spills to disk, memory stays flat.
        self._conn.exec_driver_sql(
            "CREATE TEMP TABLE roster_sorted AS "
            "SELECT * FROM temp.roster_stage ORDER BY person_key, line_no"
        )
        self._conn.exec_driver_sql("DROP TABLE temp.roster_stage")
        self._conn.commit()
        last = self._conn.exec_driver_sql("SELECT max(rowid) FROM temp.roster_sorted").scalar()
        for low in range(0, int(last or 0), self._chunk):
            self._move(low, low + self._chunk)

    def _move(self, low: int, high: int) -> None:
        """One short write transaction: other writers wait for one chunk at most."""
        fields = ", ".join(_ENTRY_FIELDS)
        self._conn.exec_driver_sql(
            f"INSERT INTO main.roster_entries (snapshot_id, {fields}) "
            f"SELECT ?, {fields} FROM temp.roster_sorted WHERE rowid > ? AND rowid <= ? "
            "ORDER BY rowid",
            (self._snapshot_id, low, high),
        )
        self._conn.commit()

    def close(self) -> None:
        # Closes the DBAPI connection rather than pooling it: its TEMP tables go with it.
        self._conn.invalidate()
        self._conn.close()


class PostgresWriter:
    """One COPY for the whole file, in one transaction.

    The rows stream to the server while the next batch is read and checked, so PostgreSQL's
    work overlaps ours instead of following it batch by batch. MVCC keeps the uncommitted rows
    invisible and one long transaction blocks nobody; a refused load simply rolls back.
    """

    def __init__(self, engine: sa.Engine, snapshot_id: int) -> None:
        self._snapshot_id = snapshot_id
        self._raw = engine.raw_connection()
        cursor: Any = self._raw.cursor()  # a psycopg cursor
        self._copying = ExitStack()
        self._copy = self._copying.enter_context(
            cursor.copy(f"COPY roster_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN")
        )
        self._published = False

    def write(self, batch: list[Entry]) -> None:
        write_row = self._copy.write_row
        snapshot_id = self._snapshot_id
        for entry in batch:
            write_row((snapshot_id, *entry))

    def publish(self) -> None:
        self._copying.close()  # ends the COPY; the server's errors surface here
        self._raw.commit()
        self._published = True

    def close(self) -> None:
        if not self._published:
            self._abandon()
        self._raw.close()

    def _abandon(self) -> None:
        """Fail the COPY (the server discards what it was sent) and roll back."""
        stop = RuntimeError("the roster import stopped before publishing")
        try:
            self._copying.__exit__(type(stop), stop, None)
            self._raw.rollback()
        except Exception:  # a broken connection: drop it, the server rolls back on its own
            self._raw.invalidate()
