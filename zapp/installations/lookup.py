"""Finding an installation: by its API key, the Sales group a page names, its webhook token, its id.

Lifecycle calls carry the API key: its blind index finds the row, locked
for the transition. Pages carry no key: Sales tells us the ``group`` (a
report's selected group, a dialog's ``${group._id}``), and provisioning
recorded which groups each instance covers (``InstanceGroup``); that answer
is a plain snapshot, so views never touch a session after it is closed.
Webhooks carry the random token of their address, found by its blind index
inside the statement that stores the event. Jobs carry the public id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ..db import Database
from ..models import Instance, InstanceGroup, InstanceState
from ..sales.ids import OBJECT_ID
from .errors import GroupNotCovered, InstallationDisabled, InstallationNotFound

_LIVE = (InstanceState.INSTALLED.value, InstanceState.ENABLED.value)


@dataclass(frozen=True)
class GroupRef:
    """The Sales group a page was opened for, as provisioning recorded it."""

    group_id: str
    parent_id: str | None
    name: str
    display_name: str
    timezone: str


@dataclass(frozen=True)
class ResolvedInstance:
    """An installation as a page needs it; the key stays encrypted (``clients.client_for`` opens it)."""

    id: int
    public_id: str
    state: str
    language: str | None
    group: GroupRef
    key_index: str | None = field(default=None, repr=False)
    key_ciphertext: bytes | None = field(default=None, repr=False)


_COLUMNS = (
    Instance.id,
    Instance.public_id,
    Instance.state,
    Instance.language,
    Instance.key_index,
    Instance.key_ciphertext,
    InstanceGroup.group_id,
    InstanceGroup.parent_id,
    InstanceGroup.name,
    InstanceGroup.display_name,
    InstanceGroup.timezone,
)


# Built once: a page load runs these, and constructing a select costs more than executing it.
_BY_GROUP = (
    select(*_COLUMNS)
    .join(InstanceGroup, InstanceGroup.instance_id == Instance.id)
    .where(InstanceGroup.group_id == bindparam("group_id"), Instance.state != InstanceState.DELETED.value)
)
_STATE = select(Instance.state).where(Instance.public_id == bindparam("public_id"))
_BY_INSTANCE_AND_GROUP = (
    select(*_COLUMNS)
    .join(InstanceGroup, InstanceGroup.instance_id == Instance.id)
    .where(Instance.public_id == bindparam("public_id"), InstanceGroup.group_id == bindparam("group_id"))
)


def locked_by_key_index(session: Session, key_index: str) -> Instance | None:
    """The installation holding the key whose blind index is ``key_index``, row-locked for a transition."""
    return session.scalars(
        select(Instance).where(Instance.key_index == key_index).with_for_update()
    ).one_or_none()


def by_public_id(session: Session, public_id: str, *, lock: bool = False) -> Instance | None:
    """The installation with ``public_id`` (deleted ones too: callers decide), optionally row-locked."""
    query = select(Instance).where(Instance.public_id == public_id)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def listening(token_index: ColumnElement[str], now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Whether an installation is live and listens at the webhook token whose blind index is
    ``token_index``: its current token, or the previous one until a rotation's grace is over
    (``webhooks.tokens``).

    A condition, not an answer: the webhook inbox puts it inside the statement
    that stores the event, so an acknowledgement costs one round trip.
    """
    previous_until = Instance.previous_webhook_token_until
    return and_(
        or_(
            Instance.webhook_token_index == token_index,
            and_(
                Instance.previous_webhook_token_index == token_index,
                or_(previous_until.is_(None), previous_until > now),
            ),
        ),
        Instance.state != InstanceState.DELETED.value,
    )


def listening_at(token_index: ColumnElement[str], now: ColumnElement[datetime]) -> Select[Any]:
    """The id of the installation ``listening`` at the token with the blind index ``token_index``."""
    return select(Instance.id).where(listening(token_index, now))


def resolve_instance(database: Database, group_id: str) -> ResolvedInstance:
    """The live installation covering ``group_id``.

    Unknown group or only deleted installations: ``InstallationNotFound``.
    Covered only by a disabled one: ``InstallationDisabled``. Should two live
    installations cover the group (an account that installed twice), the
    enabled one wins, then the newest, so the choice never flips between
    requests.
    """
    rows = database.compiled(_BY_GROUP).rows({"group_id": group_id})  # one read, its own transaction
    if not rows:
        raise InstallationNotFound("no installation covers the group")
    best = max(rows, key=lambda row: (row.state == InstanceState.ENABLED.value, row.state in _LIVE, row.id))
    if best.state not in _LIVE:
        raise InstallationDisabled("the installation is disabled")
    return _snapshot(best)


def load_instance(database: Database, public_id: str, group_id: str) -> ResolvedInstance:
    """The installation a context token names, still live and still covering the token's group.

    A deleted installation is ``InstallationNotFound``; one that does not
    cover the group (re-provisioned since, or a token naming another
    installation's group) is ``GroupNotCovered``.
    """
    # Two reads, each its own transaction: a change landing between them is what the next request
    # would see anyway, and a follow-up call is spared BEGIN and COMMIT.
    state = database.compiled(_STATE).scalar({"public_id": public_id})
    rows = database.compiled(_BY_INSTANCE_AND_GROUP).rows({"public_id": public_id, "group_id": group_id})
    row = rows[0] if rows else None
    if state is None or state == InstanceState.DELETED.value:
        raise InstallationNotFound("the installation is gone")
    if state not in _LIVE:
        raise InstallationDisabled("the installation is disabled")
    if row is None:
        raise GroupNotCovered("the installation does not cover the token's group")
    return _snapshot(row)


def covers_group(database: Database, instance: ResolvedInstance, group_id: str | None) -> bool:
    """Whether ``group_id`` is one of the groups ``instance`` covers."""
    if group_id is None or not OBJECT_ID.fullmatch(group_id):
        return False
    with database.reading_session() as session:
        found = session.scalar(
            select(InstanceGroup.id).where(
                InstanceGroup.instance_id == instance.id, InstanceGroup.group_id == group_id
            )
        )
    return found is not None


def undeleted_ids(database: Database, public_id: str | None = None) -> list[tuple[int, str]]:
    """(id, public id) of every installation not deleted, oldest first, or of the one named."""
    query = select(Instance.id, Instance.public_id).where(Instance.state != InstanceState.DELETED.value)
    if public_id is not None:
        query = query.where(Instance.public_id == public_id)
    with database.reading() as connection:
        return [(row.id, row.public_id) for row in connection.execute(query.order_by(Instance.id))]


def integration_group(database: Database, instance: ResolvedInstance) -> str | None:
    """The group of the installation's integration (the root of the groups it covers), as provisioned."""
    with database.reading_session() as session:
        return session.scalar(select(Instance.sales_group_id).where(Instance.id == instance.id))


def _snapshot(row: Any) -> ResolvedInstance:
    return ResolvedInstance(
        id=row.id,
        public_id=row.public_id,
        state=row.state,
        language=row.language,
        key_index=row.key_index,
        key_ciphertext=row.key_ciphertext,
        group=GroupRef(
            group_id=row.group_id,
            parent_id=row.parent_id,
            name=row.name or "",
            display_name=row.display_name or row.name or "",
            timezone=row.timezone or "UTC",
        ),
    )
