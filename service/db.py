"""The database engine, the helpers stores build their statements with, and how the service
tells "database down". The transaction itself is owned by service.unit_of_work."""

from __future__ import annotations

import select
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlmodel
from sqlalchemy import event
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from service.settings import Settings

M = TypeVar("M", bound=sqlmodel.SQLModel)


class DatabaseUnavailable(Exception):
    """The database did not answer in time or refused the connection."""


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": settings.database_timeout_seconds * 6},
        )
        _serialise_sqlite_writers(engine)
        return engine
    statement_ms = int(settings.database_timeout_seconds * 1000)
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_timeout=settings.database_timeout_seconds,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": max(1, int(settings.database_timeout_seconds)),
            "options": f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms}",
        },
    )
    _discard_closed_connections(engine)
    return engine


def _discard_closed_connections(engine: AsyncEngine) -> None:
    """Hand out no pooled connection that the server has already closed.

    An idle connection has nothing to read. When PostgreSQL restarts it sends each session
    "terminating connection" and closes the socket, so an idle socket that is readable is dead.
    Found at checkout, the pool replaces it before the request uses it: without this, a
    connection idle across the restart failed the first request to draw it, minutes later.
    A poll costs microseconds; `pool_pre_ping` would cost a round trip on every checkout.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if socket_has_data(dbapi_connection.driver_connection.fileno()):
            raise DisconnectionError("the server closed this pooled connection")


def socket_has_data(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    """SQLite: take the write lock at BEGIN (BEGIN IMMEDIATE) so two settlements can never
    both read an accumulator before either writes it; WAL lets readers of other connections go on.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


# Errors that mean "the database did not answer" (refused, dropped, timed out, locked), not
# "the request was wrong". OperationalError covers PostgreSQL's statement and lock timeouts too.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    PoolTimeout,
    ConnectionError,
    DatabaseUnavailable,
    OperationalError,
    InterfaceError,
)


@asynccontextmanager
async def one_snapshot(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A session whose reads all see the database as it was at the first of them, for a check
    that compares what several statements read (the ledger's verification: a chain's head
    against its records). PostgreSQL: a REPEATABLE READ, read-only transaction of its own,
    since the caller's session may already be in its READ COMMITTED one, where each statement
    sees rows committed since the last. SQLite: the session itself, whose transaction is one
    snapshot already (BEGIN IMMEDIATE holds writers off)."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
        yield session
        return
    async with AsyncSession(bind, expire_on_commit=False) as snapshot:
        await snapshot.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        yield snapshot


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def insert_statement(table: sa.Table, *, before: str = "", after: str = "") -> sa.TextClause:
    """`INSERT INTO table (...) VALUES (...)` for one row, every column but the id, as a text
    statement SQLAlchemy can cache, with what the dialect constructs cannot say around it
    (`before`: a WITH clause; `after`: ON CONFLICT, RETURNING). The columns' types still
    convert the values (JSON, UTC timestamps)."""
    sql, binds = insert_sql(table)
    return sa.text(f"{before} {sql} {after}").bindparams(*binds)


def insert_sql(
    table: sa.Table,
    *,
    prefix: str = "",
    select_from: str | None = None,
    given: Mapping[str, str] | None = None,
) -> tuple[str, list[sa.BindParameter[Any]]]:
    """The text of a one-row INSERT of every column but the id, and its typed parameters, to
    compose into a larger `text()` statement (a data-modifying WITH, ADR 0022). Parameters are
    named `prefix` + column; a column in `given` takes that SQL expression instead, and with
    `select_from` the row is `SELECT ... FROM select_from` (a CTE's row) rather than VALUES."""
    given = given or {}
    columns = [c for c in table.columns if not c.primary_key]
    names = ", ".join(c.name for c in columns)
    values = ", ".join(given.get(c.name, f":{prefix}{c.name}") for c in columns)
    binds = [sa.bindparam(prefix + c.name, type_=c.type) for c in columns if c.name not in given]
    source = f"SELECT {values} FROM {select_from}" if select_from else f"VALUES ({values})"
    return f"INSERT INTO {table.name} ({names}) {source}", binds


def insert_unless_exists(table: sa.Table, *, unique: Sequence[str]) -> sa.TextClause:
    """`INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING id`, the same text on PostgreSQL
    and SQLite. (The dialects' `insert().on_conflict_do_nothing()` is never cached, and
    compiling it cost an admission more than its round trip.)"""
    return insert_statement(
        table, after=f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING id"
    )


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


class Duplicate(Exception):
    """A store met a unique constraint: another transaction stored the same thing first.

    Stores raise it (SQL stores translate the driver's unique violation into it); the unit of
    work rolls back and lets the service answer from what the winner stored."""


def is_unique_violation(exc: IntegrityError) -> bool:
    """PostgreSQL says 23505; SQLite has no SQLSTATE and says it in words."""
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(exc.orig)


@asynccontextmanager
async def unless_duplicate(session: AsyncSession) -> AsyncIterator[None]:
    """Write inside a savepoint; a unique violation becomes `Duplicate` and leaves the
    transaction usable (for the read that answers the race from what the winner stored)."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise Duplicate(str(exc.orig)) from exc
        raise


async def add_once(session: AsyncSession, row: object) -> None:
    """Add and flush one row; `Duplicate` (and nothing added) if its unique key is taken."""
    async with unless_duplicate(session):
        session.add(row)
        await session.flush()


@contextmanager
def on_duplicate_raise(error: Exception) -> Iterator[None]:
    """A service's answer to a `Duplicate` from the store calls inside: `error`, chained to it
    (a write that lost a race the service cannot answer from the winner)."""
    try:
        yield
    except Duplicate as exc:
        raise error from exc


async def rows_where(
    session: AsyncSession, model: type[M], *where: sa.ColumnElement[bool] | bool, order_by: Any
) -> list[M]:
    """Every `model` row meeting `where`, in `order_by` order (a column): the lines, payments or
    marks of one parent, read whole."""
    query = sqlmodel.select(model).where(*where).order_by(sqlmodel.col(order_by))
    return list((await session.exec(query)).all())
