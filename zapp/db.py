"""Engine and transaction scope.

Every service call owns exactly one transaction (``Database.transaction``), so
a request either changes everything it meant to or nothing. The engine is
tuned per backend: SQLite gets WAL, foreign keys and a busy timeout so that
several gunicorn workers can share one file; a PostgreSQL connection the
server closed while it sat in the pool is replaced before use
(``_ping_when_idle``), so a database restart costs no failed statement.
"""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, PoolProxiedConnection, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, StatementError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

SQLITE_BUSY_TIMEOUT_MS = 10_000
# (inferred) A connection used this recently, with nothing on its socket, is taken as alive: under
# load, a ping on every checkout was a third of a webhook acknowledgement's time.
PING_IDLE_SECONDS = 5.0
# (inferred) Idle connections kept for the compiled statements: a sync worker uses one, a threaded
# server a few at once; more than this are closed when they come back.
DIRECT_CONNECTIONS_KEPT = 5
MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")
READ_ONLY = "zapp_read_only"


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def dialect_insert(dialect: str) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """The INSERT of ``dialect`` that has ON CONFLICT (upserts, insert-once claims)."""
    inserts = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:
        raise RuntimeError(f"zapp supports PostgreSQL and SQLite, not {dialect}")
    return cast(Callable[..., postgresql.Insert | sqlite.Insert], inserts[dialect])


def _configure_sqlite(engine: Engine) -> None:
    """Turn on what SQLite leaves off, and take write locks at BEGIN.

    pysqlite's own transaction handling starts transactions lazily, which lets
    two writers both read, then deadlock on upgrade. Emitting ``BEGIN
    IMMEDIATE`` ourselves serialises writers up front, which is what makes the
    lifecycle state machine race-safe on SQLite.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver callback
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - driver callback
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def build_engine(url: str, *, echo: bool = False) -> Engine:
    if is_sqlite(url):
        # No pre-ping: a SQLite file has no server to lose the connection to, and a ping is a
        # statement more on every checkout of every request.
        engine = create_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, echo=echo, pool_size=5, max_overflow=5, pool_recycle=1800)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pessimistic disconnect handling, without a round trip on every checkout.

    A restart or a terminated backend leaves its goodbye (an error, then end of file) on the
    connection's socket, so a connection with anything to read while it sat idle in the pool is
    dead: a look at the socket finds it, for free. Only a connection idle past
    ``PING_IDLE_SECONDS`` (whose peer may have vanished without a word) is pinged. Either way a
    dead connection is replaced before anyone uses it.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # pragma: no cover - driver callback
        record.info["zapp_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):  # pragma: no cover - driver callback
        checked_in = record.info.get("zapp_checked_in")
        if checked_in is None:
            return  # just connected
        if _has_input(dbapi_connection):
            raise DisconnectionError("the server closed the connection while it sat in the pool")
        if time.monotonic() - checked_in >= PING_IDLE_SECONDS and not _answers_ping(engine, dbapi_connection):
            raise DisconnectionError("the connection did not answer a ping after sitting idle")


def _has_input(dbapi_connection) -> bool:
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True  # no socket left
    return bool(readable)


def _answers_ping(engine: Engine, dbapi_connection) -> bool:
    try:
        return bool(engine.dialect.do_ping(dbapi_connection))
    except engine.dialect.loaded_dbapi.Error:
        return False


class DirectConnection:
    """A DBAPI connection of ``DirectConnections``, with what its keeper needs to know of it."""

    __slots__ = ("generation", "pid", "proxy", "used")

    def __init__(self, proxy: PoolProxiedConnection, generation: int) -> None:
        self.proxy = proxy
        self.pid = os.getpid()
        self.generation = generation
        self.used = time.monotonic()

    @property
    def dbapi(self) -> Any:
        return self.proxy.dbapi_connection


class DirectConnections:
    """A few DBAPI connections kept outside the pool, in autocommit, for the compiled statements.

    A pool checkout and checkin (events, the reset, the liveness look) and, on PostgreSQL,
    switching the connection to autocommit and back cost more than an acknowledgement's insert
    itself (PostgreSQL: 450 us of client CPU per insert through the pool, 230 us here). These
    connections stay in autocommit, so each statement is its own transaction and nothing is left
    open between uses; an idle one waits on a plain stack (a gunicorn sync worker only ever needs
    one). They are looked after as the pool looks after its own: one with anything on its socket
    (a restart's goodbye), or idle past ``PING_IDLE_SECONDS`` without answering a ping, is
    replaced before use; one that fails with a disconnect is dropped; a process forked from
    their owner opens its own.
    """

    def __init__(self, engine: Engine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[DirectConnection] = []  # list.pop and list.append are atomic: no lock
        self._inherited: list[DirectConnection] = []
        self._generation = 0  # moved on by ``close_all``: every connection made before is stale
        self._sqlite = is_sqlite(engine)

    def acquire(self) -> DirectConnection:
        """An idle connection, alive as far as can be told without a round trip, or a new one."""
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return self._open()
            if connection.pid != os.getpid():
                # Inherited across a fork: the parent still talks on that socket, so closing it
                # here would say goodbye for the parent. Forgotten, kept from the garbage collector.
                self._inherited.append(connection)
            elif self._usable(connection):
                return connection
            else:
                self.discard(connection)

    def release(self, connection: DirectConnection) -> None:
        """Give back a connection that did its statement (and is still fit to do the next one)."""
        connection.used = time.monotonic()
        if connection.generation == self._generation and len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            self.discard(connection)

    def discard(self, connection: DirectConnection) -> None:
        with contextlib.suppress(Exception):  # already closed by the server
            connection.proxy.close()

    def close_all(self) -> None:
        """Close the idle connections; one in use now is closed when it comes back."""
        self._generation += 1
        while self._idle:
            with contextlib.suppress(IndexError):
                self.discard(self._idle.pop())

    def _open(self) -> DirectConnection:
        proxy = self._engine.raw_connection()  # the engine's connect-time setup, once
        proxy.detach()  # ours from now on: closing it closes it, and the pool has its slot back
        if not self._sqlite:  # pysqlite is left in autocommit by ``_on_connect``
            proxy.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        return DirectConnection(proxy, self._generation)

    def _usable(self, connection: DirectConnection) -> bool:
        if connection.generation != self._generation:
            return False  # from before ``close_all``
        if self._sqlite:
            return True  # no server to lose
        if connection.dbapi is None or _has_input(connection.dbapi):
            return False
        idle = time.monotonic() - connection.used
        return idle < PING_IDLE_SECONDS or _answers_ping(self._engine, connection.dbapi)


class CompiledStatement:
    """One statement compiled once for the engine's dialect, run as its own transaction on a
    connection of ``DirectConnections``.

    For the hot paths' single statements (a webhook acknowledgement's insert, a page's
    installation lookup): SQLAlchemy's work around each execution (a ``Connection``, autobegin,
    compiled-cache lookup, parameter and result processing) cost more than the statement itself
    (SQLite insert: 220-350 us through ``Connection.scalar``, 85-125 us here; the lookup ~100 us,
    ~10 us here). The statement is still SQLAlchemy's, compiled by it; parameters and results
    still pass through the columns' own bind and result processors; DBAPI errors come back as
    SQLAlchemy's, and a connection found dead is dropped as SQLAlchemy would.
    """

    def __init__(self, connections: DirectConnections, engine: Engine, statement: ClauseElement) -> None:
        self._connections = connections
        self._engine = engine
        dialect = engine.dialect
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self._sql = compiled.string
        # literals bound when the statement was built (``literal(0)``, a compared constant)
        self._defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self._escaped = dict(compiled.escaped_bind_names)  # names the parameter style cannot carry as is
        self._order = compiled.positiontup  # None for named parameter styles
        binders = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        self._binders = {name: process for name, process in binders.items() if process is not None}
        columns = list(getattr(statement, "exported_columns", ()))  # selected, or RETURNING's
        self._row = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]
        self._readers = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self._errors = dialect.loaded_dbapi.Error

    def scalar(self, params: Mapping[str, Any]) -> Any:
        """The first column of the first row the statement returns, or None; committed on return."""
        rows = self._run(params)
        return rows[0][0] if rows else None

    def rows(self, params: Mapping[str, Any]) -> list[Any]:
        """Every row, as named tuples of the selected (or returned) columns."""
        return self._run(params)

    def _run(self, params: Mapping[str, Any]) -> list[Any]:
        values = self._values(params)
        try:
            connection = self._connections.acquire()
        except self._errors as error:  # no connection could be made
            raise self._wrapped(error, lost=True) from error
        try:
            fetched = self._fetch(connection.proxy, values)
        except self._errors as error:
            lost = self._engine.dialect.is_disconnect(error, connection.dbapi, None)
            if lost:
                self._connections.discard(connection)
            else:
                self._connections.release(connection)  # autocommit: nothing was left open
            raise self._wrapped(error, lost=lost) from error
        except BaseException:
            self._connections.discard(connection)  # interrupted mid-statement: not to be trusted
            raise
        self._connections.release(connection)
        return [self._read(row) for row in fetched]

    def _values(self, params: Mapping[str, Any]) -> Any:
        values = {**self._defaults, **params}
        for name, process in self._binders.items():
            values[name] = process(values[name])
        if self._order is not None:
            return [values[name] for name in self._order]
        return {self._escaped.get(name, name): value for name, value in values.items()}

    def _read(self, row: Any) -> Any:
        return self._row(
            *(read(value) if read else value for read, value in zip(self._readers, row, strict=True))
        )

    def _fetch(self, connection: PoolProxiedConnection, values: Any) -> list[Any]:
        cursor = connection.cursor()
        try:
            cursor.execute(self._sql, values)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def _wrapped(self, error: Exception, *, lost: bool) -> StatementError:
        """The DBAPI's error as SQLAlchemy raises it (``OperationalError``, ``IntegrityError``...)."""
        return DBAPIError.instance(
            self._sql, None, error, self._errors, hide_parameters=True,
            connection_invalidated=lost, dialect=self._engine.dialect,
        )  # fmt: skip


class Database:
    """The app's handle on its database: one engine, one session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = build_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._compiled: dict[int, tuple[ClauseElement, CompiledStatement]] = {}
        self.direct = DirectConnections(self.engine, keep=DIRECT_CONNECTIONS_KEPT)

    def compiled(self, statement: ClauseElement) -> CompiledStatement:
        """``statement`` compiled once for this database: for the hot paths' module-level statements
        (kept by identity, with the statement itself, so the key is never reused)."""
        found = self._compiled.get(id(statement))
        if found is None:
            compiled = CompiledStatement(self.direct, self.engine, statement)
            found = self._compiled[id(statement)] = (statement, compiled)
        return found[1]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: commit on success, roll back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction (reports, follow-up reads; the single-statement lookups of page
        opens and webhooks run as ``compiled`` statements instead).

        On SQLite it opens with a plain (deferred) ``BEGIN``: under WAL, readers
        then run side by side instead of queueing for the write lock that
        ``transaction`` takes up front.
        """
        with self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield connection

    @contextlib.contextmanager
    def reading_session(self) -> Iterator[Session]:
        """An ORM session over ``reading``: reports run for seconds and must not hold the write lock."""
        with self.reading() as connection, Session(bind=connection) as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.direct.close_all()
        self.engine.dispose()


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_schema(engine: Engine, revision: str = "heads") -> None:
    """Apply Alembic migrations up to ``revision`` on ``engine``, in one transaction."""
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, revision)


def downgrade_schema(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        alembic_command.downgrade(config, revision)
