"""The database layer's hot-path helpers: single statements and compiled writes."""

from __future__ import annotations

import os
import threading
import time

import psycopg
import pytest
from sqlalchemy import Float, bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError, OperationalError

from tests import conftest
from zapp.db import DIRECT_CONNECTIONS_KEPT, PING_IDLE_SECONDS
from zapp.models import Instance, WebhookEvent, utcnow


def _event_insert():
    """An event insert as the inbox builds it: bound values, a literal, a JSON payload, a date."""
    return (
        insert(WebhookEvent)
        .values(
            instance_id=bindparam("instance_id"),
            dedupe_key=bindparam("dedupe_key"),
            topic=literal("prospects"),
            kind=bindparam("kind"),
            payload=bindparam("payload", type_=WebhookEvent.__table__.c.payload.type),
            received_at=bindparam("received_at", type_=WebhookEvent.__table__.c.received_at.type),
            attempts=literal(0),
        )
        .returning(WebhookEvent.id)
    )


_COUNT = select(func.count()).select_from(WebhookEvent)


def _backend(database) -> int:
    """The server process behind the connection the next compiled statement will use."""
    connection = database.direct.acquire()
    database.direct.release(connection)
    return connection.dbapi.info.backend_pid


def _instance(database) -> int:
    with database.transaction() as session:
        instance = Instance(public_id="compiled-write", state="enabled")
        session.add(instance)
        session.flush()
        return instance.id


def test_a_compiled_write_commits_and_reads_back_as_the_orm_wrote_it(app):
    database = app.extensions["zapp"].database
    instance_id = _instance(database)
    write = database.compiled(_event_insert())
    when = utcnow()
    payload = {"operationId": "op-1", "prospect": [{"id": "p1", "firstName": "Zoë"}]}
    event_id = write.scalar(
        {
            "instance_id": instance_id,
            "dedupe_key": "k1",
            "kind": "created",
            "payload": payload,
            "received_at": when,
        }
    )
    assert isinstance(event_id, int)
    with database.transaction() as session:  # the ORM writes a twin, the same values
        session.add(WebhookEvent(instance_id=instance_id, dedupe_key="k2", topic="prospects", kind="created",
                                 payload=payload, received_at=when, attempts=0))  # fmt: skip
    with database.transaction() as session:  # another connection sees both: committed
        ours, orms = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
        assert ours.id == event_id
        assert (ours.topic, ours.kind, ours.payload, ours.attempts) == ("prospects", "created", payload, 0)
        assert ours.received_at == orms.received_at  # stored in the column's own format


def test_a_failed_compiled_write_raises_sqlalchemys_error_and_the_next_one_runs(app):
    database = app.extensions["zapp"].database
    write = database.compiled(_event_insert())
    row = {"instance_id": 987654, "dedupe_key": "k", "kind": "created", "payload": {}}
    row["received_at"] = utcnow()
    with pytest.raises(IntegrityError):  # no such instance: the foreign key refuses it
        write.scalar(row)
    instance_id = _instance(database)
    assert isinstance(write.scalar({**row, "instance_id": instance_id}), int)  # same thread, same connection
    # The pool's connections still give transactions that a rollback undoes.
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.execute(insert(WebhookEvent).values(
            instance_id=instance_id, dedupe_key="undone", topic="prospects", kind="created", payload={},
            received_at=utcnow(), attempts=0,
        ))  # fmt: skip
        raise RuntimeError("changed my mind")
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1


def test_compiled_statements_reuse_an_idle_connection_and_dispose_closes_them(app):
    database = app.extensions["zapp"].database
    count = database.compiled(_COUNT)
    count.scalar({})
    first = database.direct.acquire()
    second = database.direct.acquire()  # the first is in use: another is opened
    assert second.proxy is not first.proxy
    database.direct.release(second)
    database.direct.release(first)
    assert database.direct.acquire() is first  # the last one back is the next one out
    database.direct.release(first)
    results: list[int] = []
    workers = [threading.Thread(target=lambda: results.append(count.scalar({}))) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [0] * 8
    assert len(database.direct._idle) <= DIRECT_CONNECTIONS_KEPT  # the extra ones were closed
    database.dispose()
    assert database.direct._idle == []
    assert first.dbapi is None  # closed
    assert count.scalar({}) == 0  # a new one is opened


def _warmed(app):
    """The app's database, a compiled count that has run once, and the server process behind the
    connection it ran on."""
    database = app.extensions["zapp"].database
    count = database.compiled(_COUNT)
    assert count.scalar({}) == 0
    return database, count, _backend(database)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_idle_past_the_ping_interval_is_pinged_and_kept_when_it_answers(app):
    database, count, backend = _warmed(app)

    def last_statement() -> str:
        with psycopg.connect(conftest.POSTGRES_ADMIN_URL, autocommit=True) as admin:
            row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone()
        return row[0].strip().upper()

    counted = last_statement()
    assert counted.startswith("SELECT COUNT")
    database.direct.release(database.direct.acquire())  # used within the interval: no ping
    assert last_statement() == counted
    database.direct._idle[-1].used -= PING_IDLE_SECONDS + 1  # as if it had waited that long
    connection = database.direct.acquire()
    assert last_statement() != counted  # the driver's ping ran on it; it answered, so it was kept
    database.direct.release(connection)
    assert connection.dbapi.info.backend_pid == backend
    assert count.scalar({}) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(app):
    database, count, parents = _warmed(app)
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            same = _backend(database) == parents
            count.scalar({})
        except BaseException:
            os._exit(2)
        os._exit(1 if same else 0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert count.scalar({}) == 0  # the parent's connection was not closed by the child
    assert _backend(database) == parents


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_the_server_dropped_is_replaced_before_the_next_statement(app):
    database, count, backend = _warmed(app)
    with psycopg.connect(conftest.POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (backend,))
    assert count.scalar({}) == 0  # no error: the goodbye on the socket was seen first
    assert _backend(database) != backend


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_statement_on_a_connection_lost_mid_way_fails_as_sqlalchemy_says_and_the_next_reconnects(app):
    database, count, backend = _warmed(app)
    sleep = database.compiled(select(func.pg_sleep(bindparam("seconds", type_=Float()))))

    def terminate_soon() -> None:
        time.sleep(0.3)
        with psycopg.connect(conftest.POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (backend,))

    killer = threading.Thread(target=terminate_soon)
    killer.start()
    with pytest.raises(OperationalError) as raised:
        sleep.scalar({"seconds": 5})
    killer.join()
    assert raised.value.connection_invalidated
    assert count.scalar({}) == 0
