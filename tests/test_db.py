"""The database layer's hot-path helpers: single statements and compiled writes."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from zapp.db import CompiledStatement
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


def _instance(database) -> int:
    with database.transaction() as session:
        instance = Instance(public_id="compiled-write", state="enabled")
        session.add(instance)
        session.flush()
        return instance.id


def test_a_compiled_write_commits_and_reads_back_as_the_orm_wrote_it(app):
    database = app.extensions["zapp"].database
    instance_id = _instance(database)
    write = CompiledStatement(database.engine, _event_insert())
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


def test_a_failed_compiled_write_raises_sqlalchemys_error_and_leaves_the_pool_transactional(app):
    database = app.extensions["zapp"].database
    write = CompiledStatement(database.engine, _event_insert())
    row = {
        "instance_id": 987654,
        "dedupe_key": "k",
        "kind": "created",
        "payload": {},
        "received_at": utcnow(),
    }
    with pytest.raises(IntegrityError):  # no such instance: the foreign key refuses it
        write.scalar(row)
    instance_id = _instance(database)
    # The next user of the pooled connection still gets a transaction that a rollback undoes.
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.execute(insert(WebhookEvent).values(
            instance_id=instance_id, dedupe_key="undone", topic="prospects", kind="created", payload={},
            received_at=utcnow(), attempts=0,
        ))  # fmt: skip
        raise RuntimeError("changed my mind")
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
