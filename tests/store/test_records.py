"""The store's upsert: newest ``updatedAt`` wins whatever the arrival order, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from zapp.models import StoredInteraction, StoredProspect
from zapp.store.records import epoch_ms, interaction_row, prospect_row, store_interactions, store_prospects

GROUP = "5f0c1a2b3c4d5e6f7a8b9c0d"
PROSPECT = "6a0c1a2b3c4d5e6f7a8b9c01"


def _instance_id(app, install) -> int:
    install()
    from zapp.models import Instance

    with app.extensions["zapp"].database.transaction() as session:
        return session.scalar(select(Instance.id))


def _prospect(updated: str, status: str, **extra):
    return {
        "id": PROSPECT,
        "groupId": GROUP,
        "created": "2026-03-01T10:00:00.000Z",
        "updatedAt": updated,
        "status": status,
        "firstName": "Ana",
        "agent": {"id": "7a0c1a2b3c4d5e6f7a8b9c02", "firstName": "Bea", "lastName": "Luz"},
        "leads": [{"source": "Portal", "utmSource": "google", "utmMedium": "cpc", "utmCampaign": "spring"}],
        **extra,
    }


def test_epoch_ms_reads_sales_times():
    assert epoch_ms("1970-01-01T00:00:01.500Z") == 1500
    assert epoch_ms("1970-01-01T01:00:00+01:00") == 0
    assert epoch_ms("not a time") is None
    assert epoch_ms(None) is None


def test_prospect_row_needs_id_group_and_creation():
    assert prospect_row(1, {"id": PROSPECT, "created": "2026-03-01T10:00:00Z"}) is None
    assert prospect_row(1, {"id": "bad", "groupId": GROUP, "created": "2026-03-01T10:00:00Z"}) is None
    row = prospect_row(1, _prospect("2026-03-01T10:05:00Z", "new"))
    assert row["utm_source"] == "google" and row["agent_name"] == "Bea Luz"
    assert row["group_id"] == GROUP and row["updated_ms"] > row["created_ms"]


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_newest_update_wins_whatever_the_order(app, install, order):
    instance_id = _instance_id(app, install)
    older = prospect_row(instance_id, _prospect("2026-03-01T10:05:00Z", "new"))
    newer = prospect_row(
        instance_id, _prospect("2026-03-01T11:00:00Z", "archived", archivingReason="noInterest")
    )
    rows = [older, newer] if order == "in order" else [newer, older]
    database = app.extensions["zapp"].database
    for row in rows:  # separate transactions, as separate events would be
        with database.transaction() as session:
            store_prospects(session, [row])
    with database.transaction() as session:
        stored = session.scalars(select(StoredProspect)).all()
    assert [(p.status, p.archiving_reason) for p in stored] == [("archived", "noInterest")]


def test_one_batch_with_repeats_keeps_the_newest(app, install):
    instance_id = _instance_id(app, install)
    rows = [
        prospect_row(instance_id, _prospect(f"2026-03-01T10:{minute:02d}:00Z", f"s{minute}"))
        for minute in (5, 30, 10)
    ]
    database = app.extensions["zapp"].database
    with database.transaction() as session:
        assert store_prospects(session, rows) == 3
    with database.transaction() as session:
        assert session.scalars(select(StoredProspect.status)).all() == ["s30"]


def test_a_window_a_webhook_told_survives_a_history_import(app, install):
    instance_id = _instance_id(app, install)
    database = app.extensions["zapp"].database
    with database.transaction() as session:
        store_prospects(
            session,
            [prospect_row(instance_id, _prospect("2026-03-01T10:05:00Z", "new"), whatsapp_due_ms=123)],
        )
    with database.transaction() as session:
        store_prospects(session, [prospect_row(instance_id, _prospect("2026-03-01T10:06:00Z", "followUp"))])
    with database.transaction() as session:
        stored = session.scalars(select(StoredProspect)).one()
    assert (stored.status, stored.whatsapp_due_ms) == ("followUp", 123)


def test_interactions_take_the_group_they_are_given_when_sales_names_none(app, install):
    instance_id = _instance_id(app, install)
    interaction = {
        "id": "8a0c1a2b3c4d5e6f7a8b9c03",
        "prospectId": PROSPECT,
        "createdAt": "2026-03-01T10:07:00Z",
        "via": "whatsApp",
        "proactive": True,
        "agent": {"id": "7a0c1a2b3c4d5e6f7a8b9c02", "firstName": "Bea"},
    }
    assert interaction_row(instance_id, interaction) is None
    row = interaction_row(instance_id, interaction, group_id=GROUP)
    database = app.extensions["zapp"].database
    with database.transaction() as session:
        store_interactions(session, [row, row])
    with database.transaction() as session:
        stored = session.scalars(select(StoredInteraction)).one()
    assert (stored.group_id, stored.via, stored.proactive, stored.agent_id) == (
        GROUP,
        "whatsApp",
        True,
        "7a0c1a2b3c4d5e6f7a8b9c02",
    )


def test_text_a_database_column_refuses_is_cleaned_not_fatal(app, install):
    instance_id = _instance_id(app, install)
    row = prospect_row(instance_id, _prospect("2026-03-01T10:05:00Z", "new", firstName="An\x00a\ud800"))
    assert row["first_name"] == "Ana?"
    with app.extensions["zapp"].database.transaction() as session:
        store_prospects(session, [row])
    with app.extensions["zapp"].database.transaction() as session:
        assert session.scalars(select(StoredProspect.first_name)).one() == "Ana?"
