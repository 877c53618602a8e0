"""Sales JSON into store rows, and the upsert that lets the newest version win.

Webhooks, history imports and re-reads all feed the same two tables through
``store_prospects`` and ``store_interactions``. Events arrive out of order
(Sales retries for hours), so a row is only replaced by one whose
``updatedAt`` is at least as new: the comparison lives in the upsert
statement itself, so concurrent writers cannot undo each other. Every upsert
moves the report rollups with it (``rollups.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ..db import dialect_insert
from ..models import StoredInteraction, StoredProspect
from ..sales.ids import OBJECT_ID
from . import rollups

# Bound parameters per statement stay well below SQLite's limit (32,766) at this batch size.
BATCH_ROWS = 500
_KEPT_WHEN_UNKNOWN = ("whatsapp_due_ms", "facebook_due_ms", "first_contact_ms")


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 time from Sales (``Z`` or an offset); else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and OBJECT_ID.fullmatch(value) else None


def _text(value: Any, limit: int) -> str | None:
    """Text for a store column. JSON may carry what a database column refuses (PostgreSQL: NUL;
    UTF-8: lone surrogates); kept as is, one such field would fail its event on every retry."""
    if not isinstance(value, str):
        return None
    clean = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return clean.strip()[:limit] or None


def _ref_id(value: Any) -> str | None:
    """An id given bare or as ``{"id": ...}`` / ``{"_id": ...}``, as Sales does for groups and agents."""
    if isinstance(value, Mapping):
        value = value.get("id") or value.get("_id")
    return _id(value)


def agent_of(value: Any) -> Mapping[str, Any] | None:
    """The agent of a prospect: an object in Sales' prospects, an **array** in webhook summaries (L1102)."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, Mapping)), None)
    return value if isinstance(value, Mapping) else None


def agent_name(agent: Any) -> str:
    if not isinstance(agent, Mapping):
        return ""
    parts = (_text(agent.get("firstName"), 100), _text(agent.get("lastName"), 100))
    return " ".join(part for part in parts if part)[:200]


def prospect_row(
    instance_id: int, prospect: Mapping[str, Any], *, read_at: datetime | None = None, **extra: Any
) -> dict[str, Any] | None:
    """The store row of a Sales prospect, or None when it lacks an id, a group or a creation time.

    ``read_at``: when a whole prospect was read from Sales. Sales' prospects
    carry no ``updatedAt``, so without it the row would look as old as its
    creation and lose to any partial row a webhook stored first; a whole read
    is Sales' state as of the read. ``extra`` carries what only a webhook
    envelope knows (``whatsapp_due_ms``, ...).
    """
    prospect_id = _id(prospect.get("id"))
    group_id = _ref_id(prospect.get("groupId")) or _ref_id(prospect.get("group"))
    created = epoch_ms(prospect.get("created"))
    if prospect_id is None or group_id is None or created is None:
        return None
    lead = first_lead(prospect)
    agent = agent_of(prospect.get("agent"))
    row = {
        "instance_id": instance_id,
        "prospect_id": prospect_id,
        "group_id": group_id,
        "agent_id": _ref_id(agent),
        "agent_name": agent_name(agent),
        "first_name": _text(prospect.get("firstName"), 200) or "",
        "last_name": _text(prospect.get("lastName"), 200) or "",
        "status": _text(prospect.get("status"), 40),
        "label": _text(prospect.get("label"), 40),
        "category": _text(prospect.get("category"), 40),
        "archiving_reason": _text(prospect.get("archivingReason"), 80),
        "source": _text(lead.get("source"), 200),
        "utm_source": _text(lead.get("utmSource"), 200),
        "utm_medium": _text(lead.get("utmMedium"), 200),
        "utm_campaign": _text(lead.get("utmCampaign"), 200),
        "created_ms": created,
        "first_contact_ms": epoch_ms(prospect.get("firstContactedAt")),
        "updated_ms": max(
            epoch_ms(prospect.get("updatedAt")) or created, int(read_at.timestamp() * 1000) if read_at else 0
        ),
        "whatsapp_due_ms": None,
        "facebook_due_ms": None,
    }
    row.update(extra)
    return row


def interaction_row(
    instance_id: int, interaction: Mapping[str, Any], *, group_id: str | None = None
) -> dict[str, Any] | None:
    """The store row of a Sales interaction; ``group_id`` stands in when the interaction names none."""
    interaction_id = _id(interaction.get("id"))
    prospect_id = _id(interaction.get("prospectId"))
    group = _ref_id(interaction.get("groupId")) or _id(group_id)
    created = epoch_ms(interaction.get("createdAt"))
    if interaction_id is None or prospect_id is None or group is None or created is None:
        return None
    agent = interaction.get("agent")
    output = interaction.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    via = interaction.get("via") or (message.get("via") if isinstance(message, Mapping) else None)
    return {
        "instance_id": instance_id,
        "interaction_id": interaction_id,
        "prospect_id": prospect_id,
        "group_id": group,
        "agent_id": _id(interaction.get("agentId")) or _ref_id(agent),
        "agent_name": agent_name(agent),
        "via": _text(via, 40),
        "proactive": interaction.get("proactive") is True,
        "status": _text(interaction.get("status"), 40),
        "created_ms": created,
        "updated_ms": max(
            created,
            epoch_ms(interaction.get("updatedAt")) or 0,
            epoch_ms(interaction.get("finishedAt")) or 0,
        ),
    }


def first_lead(prospect: Mapping[str, Any]) -> Mapping[str, Any]:
    """The prospect's first lead (its origin), or an empty mapping."""
    leads = prospect.get("leads")
    return leads[0] if isinstance(leads, list) and leads and isinstance(leads[0], Mapping) else {}


# What a prospect summary must carry for its row to exist at all (the key, the group, the times).
_ALWAYS_CARRIED = ("instance_id", "prospect_id", "group_id", "created_ms", "updated_ms")
# Which store columns each Sales field feeds: a summary without the field leaves the columns alone.
_CARRIED_BY = {
    "agent": ("agent_id", "agent_name"),
    "firstName": ("first_name",),
    "lastName": ("last_name",),
    "status": ("status",),
    "label": ("label",),
    "category": ("category",),
    "archivingReason": ("archiving_reason",),
    "firstContactedAt": ("first_contact_ms",),
}
# The lead's fields feed a column each: summaries' leads lack utmMedium and utmCampaign (L1092-1102).
_CARRIED_BY_LEAD = {
    "source": "source",
    "utmSource": "utm_source",
    "utmMedium": "utm_medium",
    "utmCampaign": "utm_campaign",
}


def prospect_summary_row(instance_id: int, summary: Mapping[str, Any], **extra: Any) -> dict[str, Any] | None:
    """The partial store row of a prospect summary: only the columns the summary carries.

    Webhook envelopes carry summaries, not whole prospects; a full row would
    wipe what the summary leaves out (the label, the lead's utmMedium, ...).
    A field the summary carries is taken as Sales' word, an empty ``agent``
    array included (nobody is assigned).
    ``extra`` columns (a conversation window from the envelope) are kept.
    """
    row = prospect_row(instance_id, summary)
    if row is None:
        return None
    carried = set(_ALWAYS_CARRIED)
    for field_name, columns in _CARRIED_BY.items():
        if field_name in summary:
            carried.update(columns)
    lead = first_lead(summary)
    carried.update(column for field_name, column in _CARRIED_BY_LEAD.items() if field_name in lead)
    partial = {name: value for name, value in row.items() if name in carried}
    partial.update(extra)
    return partial


def store_prospects(session: Session, rows: Iterable[dict[str, Any]], *, partial: bool = False) -> int:
    """Upsert prospect rows, newest ``updated_ms`` winning; returns how many rows were offered.

    ``partial`` rows (from ``prospect_summary_row``) may each carry different
    columns; an existing row keeps every column a partial row does not carry.
    """
    table, keys = cast(Table, StoredProspect.__table__), ("instance_id", "prospect_id")
    if not partial:
        return _upsert(session, table, keys, rows)
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(frozenset(row), []).append(row)
    return sum(_upsert(session, table, keys, group) for group in by_columns.values())


def stored_prospect_group(session: Session, instance_id: int, prospect_id: str) -> str | None:
    """The group the store last saw the prospect in; None when the store does not have it."""
    return session.scalar(
        select(StoredProspect.group_id).where(
            StoredProspect.instance_id == instance_id, StoredProspect.prospect_id == prospect_id
        )
    )


def store_interactions(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert interaction rows, newest ``updated_ms`` winning; returns how many rows were offered."""
    return _upsert(session, cast(Table, StoredInteraction.__table__), ("instance_id", "interaction_id"), rows)


def _upsert(session: Session, table: Table, keys: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> int:
    batch: dict[tuple, dict[str, Any]] = {}
    offered = 0
    for row in rows:
        offered += 1
        key = tuple(row[name] for name in keys)
        # One statement may not touch a row twice (PostgreSQL refuses): keep the newest per key.
        if key not in batch or batch[key]["updated_ms"] <= row["updated_ms"]:
            batch[key] = row
        if len(batch) >= BATCH_ROWS:
            _upsert_batch(session, table, keys, list(batch.values()))
            batch = {}
    if batch:
        _upsert_batch(session, table, keys, list(batch.values()))
    return offered


def _upsert_batch(session: Session, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    statement = dialect_insert(session.get_bind().dialect.name)(table)
    excluded = statement.excluded
    given = set(rows[0])  # rows of one batch carry the same columns (partial rows are grouped so)
    changing: dict[str, Any] = {
        column.name: excluded[column.name]
        for column in table.columns
        if column.name not in keys and column.name in given
    }
    for name in _KEPT_WHEN_UNKNOWN:
        if name in changing:
            # A history import does not know a conversation window or a first contact a webhook told us.
            changing[name] = func.coalesce(excluded[name], table.c[name])
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_=changing,
        where=table.c.updated_ms <= excluded.updated_ms,
    )
    tracked = rollups.track(session, table, keys, rows, _KEPT_WHEN_UNKNOWN)  # before: what is replaced
    session.execute(statement, rows)
    tracked.apply(session)  # the report rollups move as the rows did
