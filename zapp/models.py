"""Typed SQLAlchemy 2 models.

Plaintext API keys never appear here: an instance carries its key encrypted
(``key_ciphertext``, see ``zapp.vault``) and a keyed blind index
(``key_index``) that lookups go through.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InstanceState(enum.StrEnum):
    """Where an installation stands. ``installed`` means Sales has not said enabled or not."""

    INSTALLED = "installed"
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"


class Instance(Base):
    """One installation of the App in one Sales account."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    state: Mapped[str] = mapped_column(String(16), default=InstanceState.INSTALLED.value)
    key_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # What provisioning learnt from Sales (GET /integration), and how far it got.
    sales_group_id: Mapped[str | None] = mapped_column(String(24))
    sales_account_id: Mapped[str | None] = mapped_column(String(24))
    language: Mapped[str | None] = mapped_column(String(8))
    provisioned_version: Mapped[int] = mapped_column(Integer, default=0)
    provisioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provisioning_error: Mapped[str | None] = mapped_column(Text)
    # Epoch seconds until which one provisioning run has the instance; expires, unlike a queue lock.
    provisioning_lease_until: Mapped[float | None] = mapped_column(Float)
    # The secret part of this instance's webhook callback URL, stored like the API key.
    webhook_token_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    webhook_token_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The token before the last rotation: accepted until Sales confirms the new subscription
    # (``until`` unset), then until ``until`` (see ``webhooks.tokens``).
    previous_webhook_token_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_webhook_token_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    groups: Mapped[list[InstanceGroup]] = relationship(
        back_populates="instance", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_deleted(self) -> bool:
        return self.state == InstanceState.DELETED

    @property
    def is_active(self) -> bool:
        """Whether the instance may act (call Sales, reply, import) right now."""
        return self.state == InstanceState.ENABLED

    def __repr__(self) -> str:  # never shows key material
        return f"<Instance {self.public_id} {self.state}>"


class KeyRetirement(enum.StrEnum):
    REFRESHED = "refreshed"
    DELETED = "deleted"


class RetiredKey(Base):
    """The blind index of a key that no longer opens anything.

    Kept only so that a retried refresh or delete is answered as the first one
    was (idempotency); the key itself is gone.
    """

    __tablename__ = "retired_keys"

    key_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    retired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VaultSecret(Base):
    """Secrets the app generates for itself, stored encrypted under ``ZAPP_ENCRYPTION_KEYS``.

    The blind-index key lives here rather than being derived from an
    encryption key, so that rotating encryption keys never breaks lookups.
    """

    __tablename__ = "vault_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SalesRateWindow(Base):
    """The Sales rate-limit budget of one API key, shared by every process of a deployment.

    ``bucket`` is the key's blind index, never the key.
    """

    __tablename__ = "sales_rate_windows"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    reset_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class InstanceGroup(Base):
    """A Sales group an instance covers: the integration's group and its descendants.

    Pages find their instance through the ``group`` of the URL Sales signed.
    """

    __tablename__ = "instance_groups"
    __table_args__ = (UniqueConstraint("instance_id", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String(24), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200), default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country_code: Mapped[str | None] = mapped_column(String(8))

    instance: Mapped[Instance] = relationship(back_populates="groups")


class Subscription(Base):
    """A Sales notification subscription made for an instance (one per group, per Sales' rule)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    sales_subscription_id: Mapped[str] = mapped_column(String(24))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- the local store: what webhooks and history imports learnt, for the reports ---------------
#
# Times are epoch milliseconds (``*_ms``): exact, ordered the same way on every
# backend, and cheap to subtract and bucket in SQL. ``updated_ms`` is Sales'
# ``updatedAt``: an upsert only replaces a row with a newer one, so events that
# arrive out of order never roll a record back.


class WebhookEvent(Base):
    """One notification as Sales delivered it, stored before it is acknowledged.

    ``dedupe_key`` identifies the event across Sales' retries; the unique
    constraint (not a check-then-insert) is what makes a duplicate delivery
    harmless, however many arrive at once.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("instance_id", "dedupe_key"),
        Index("ix_webhook_events_pending", "processed_at", "id"),
        Index("ix_webhook_events_instance_received", "instance_id", "received_at"),  # reports' freshness
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed by the unique constraint and the freshness index, which both lead with it.
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    # After a failure: not before this may the sweep queue the event again (its backoff).
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoredProspect(Base):
    """A Sales prospect as the reports need it: its group, agent, source, status and times."""

    __tablename__ = "store_prospects"
    __table_args__ = (
        Index("ix_store_prospects_group_created", "instance_id", "group_id", "created_ms"),
        # The speed-to-lead report lists the contacts still waiting, oldest first.
        Index("ix_store_prospects_waiting", "instance_id", "first_contact_ms", "created_ms"),
        Index("ix_store_prospects_agent", "instance_id", "agent_id"),  # renaming an agent's rows
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(24))
    agent_id: Mapped[str | None] = mapped_column(String(24))
    agent_name: Mapped[str] = mapped_column(String(200), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str | None] = mapped_column(String(40))
    label: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(40))
    archiving_reason: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str | None] = mapped_column(String(200))
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    first_contact_ms: Mapped[int | None] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    whatsapp_due_ms: Mapped[int | None] = mapped_column(BigInteger)
    facebook_due_ms: Mapped[int | None] = mapped_column(BigInteger)


class StoredInteraction(Base):
    """A Sales interaction: who (agent), how (``via``), whether the agent started it, and when."""

    __tablename__ = "store_interactions"
    __table_args__ = (
        Index("ix_store_interactions_group_created", "instance_id", "group_id", "created_ms"),
        Index("ix_store_interactions_prospect", "instance_id", "prospect_id", "created_ms"),
        Index("ix_store_interactions_agent", "instance_id", "agent_id"),  # renaming an agent's rows
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    interaction_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(24))
    group_id: Mapped[str] = mapped_column(String(24))
    agent_id: Mapped[str | None] = mapped_column(String(24))
    agent_name: Mapped[str] = mapped_column(String(200), default="")
    via: Mapped[str | None] = mapped_column(String(40))
    proactive: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str | None] = mapped_column(String(40))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class StoredAgent(Base):
    """The name Sales last gave an agent, as of ``seen_ms`` (the event that said it).

    The store's prospect and interaction rows carry the agent's name for the
    reports; when an event brings a newer name (a rename), they are renamed
    with it, so reports never name one agent two ways.
    """

    __tablename__ = "store_agents"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    seen_ms: Mapped[int] = mapped_column(BigInteger)


class StoredQuote(Base):
    """A quote as the newest ``quotes`` envelope about it told it, as of ``seen_ms``.

    The Timeline lists a contact's quotes from here, and asks Sales only for a
    contact with none stored yet.
    """

    __tablename__ = "store_quotes"
    __table_args__ = (Index("ix_store_quotes_prospect", "instance_id", "prospect_id"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    quote_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(24))
    quote: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seen_ms: Mapped[int] = mapped_column(BigInteger)


class ReportRollup(Base):
    """A count of store rows ahead of the reports (see ``store/rollups.py``): per instance, kind,
    grain (15 minutes or one UTC day), bucket of the creation time, group and key."""

    __tablename__ = "report_rollups"
    # SQLite keeps the rows in primary-key order (no rowid): a report's range is one contiguous read,
    # not a lookup per row. PostgreSQL's primary-key index carries the count and label for the same
    # reason (an index-only scan).
    __table_args__ = (
        PrimaryKeyConstraint(
            "instance_id", "kind", "grain", "bucket", "group_id", "key1", "key2",
            postgresql_include=["count", "label"],
        ),
        {"sqlite_with_rowid": False},
    )  # fmt: skip

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    grain: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[int] = mapped_column(BigInteger)
    group_id: Mapped[str] = mapped_column(String(24))
    key1: Mapped[str] = mapped_column(String(200))
    key2: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(200), default="")


class AutoReply(Base):
    """The automatic reply of one prospect: the primary key is what makes it "once per prospect".

    ``state``: ``pending`` (claimed, being sent), ``sent``, ``retry`` (Sales
    surely did not send it; tried again from ``retry_at``), ``failed`` (Sales
    refused it) or ``unknown`` (Sales may have sent it: never tried again).
    """

    __tablename__ = "auto_replies"
    __table_args__ = (Index("ix_auto_replies_state_retry_at", "state", "retry_at"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncState(Base):
    """How far the history import of one kind (``prospects``/``interactions``) got, to resume and to show."""

    __tablename__ = "sync_states"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    days: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(200))


class ActionRecord(Base):
    """A page action (send, transfer, ...) under its idempotency key.

    The first request inserts the row and acts; a retry or a second click with
    the same key finds the row (primary key, not a lookup first) and gets the
    first answer back instead of acting again.
    """

    __tablename__ = "action_records"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="running")
    status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
