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
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
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
    # The secret part of this instance's webhook callback URL, stored like the API key.
    webhook_token_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    webhook_token_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)

    groups: Mapped[list[InstanceGroup]] = relationship(
        back_populates="instance", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def needs_provisioning(self) -> bool:
        return not self.is_deleted and self.provisioned_version < self.version

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
