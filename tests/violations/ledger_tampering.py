"""What a database administrator can do to the ledger behind the service's back: edit any column
of a record (with the column's own type, so the edit is as clean as the service's writes), and
swap the primary keys of two records with foreign keys switched off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI


def changed(value: Any) -> Any:
    """A clean edit of a value of the column's own type: what an UPDATE by hand would write."""
    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("y" if value.endswith("x") else "x")
    if isinstance(value, dict):
        return {**value, "tampered": 1}
    return value - timedelta(days=30)  # a datetime: back-dated


@contextmanager
def unchecked(url: str) -> Iterator[sa.Connection]:
    """A transaction with foreign keys off (plain sqlite3 has them off; PostgreSQL skips its
    triggers for a superuser in replica mode)."""
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            yield conn
    finally:
        engine.dispose()


def _where(table: sa.Table, chain: str, seq: int) -> Any:
    return sa.and_(table.c.chain == chain, table.c.chain_seq == seq)


def _update(
    url: str,
    table: sa.Table,
    chain: str,
    seq: int,
    change: dict[str, Callable[[Any], Any]],
    values: dict[str, Any],
) -> None:
    with unchecked(url) as conn:
        row = conn.execute(sa.select(table).where(_where(table, chain, seq))).one()
        new = values | {name: fn(row._mapping[name]) for name, fn in change.items()}
        conn.execute(table.update().where(table.c.id == row.id).values(**new))


async def update_record(
    app: FastAPI,
    table: sa.Table,
    in_chain: str,
    seq: int,
    *,
    change: dict[str, Callable[[Any], Any]] | None = None,
    **values: Any,
) -> None:
    """Set `values` on the record at (chain, seq), and each `change` column to fn(old value)."""
    url = app.state.settings.database_url
    await asyncio.to_thread(_update, url, table, in_chain, seq, change or {}, values)


def _swap(url: str, table: sa.Table, chain: str, one: int, other: int, with_status: bool) -> None:
    with unchecked(url) as conn:
        a = conn.execute(sa.select(table).where(_where(table, chain, one))).one()
        b = conn.execute(sa.select(table).where(_where(table, chain, other))).one()
        free = -1 - max(a.id, b.id)
        for row_id, new_id in ((a.id, free), (b.id, a.id), (free, b.id)):
            conn.execute(table.update().where(table.c.id == row_id).values(id=new_id))
        if with_status:  # the statuses stay with the ids, so each agrees with its history
            for row in (a, b):
                conn.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(status=row.status, status_changed_at=row.status_changed_at)
                )


async def swap_ids(
    app: FastAPI, table: sa.Table, chain: str, one: int, other: int, *, with_status: bool = False
) -> None:
    """Swap the ids of the records at seq `one` and `other` of `chain`."""
    url = app.state.settings.database_url
    await asyncio.to_thread(_swap, url, table, chain, one, other, with_status)
