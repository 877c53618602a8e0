"""Finding the installation a framed page belongs to, from the Sales group its URL names.

Pages carry no API key: Sales tells us the ``group`` (a report's selected
group, a dialog's ``${group._id}``), and provisioning recorded which groups
each instance covers (``InstanceGroup``). The answer is a plain snapshot,
so views never touch a session after it is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select

from ..db import Database
from ..models import Instance, InstanceGroup, InstanceState
from ..sales.ids import OBJECT_ID
from .refusals import BadParameters, ContextMismatch, ForeignProspect, InstanceDisabled, UnknownInstance

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
    """An installation as a page needs it; the key stays encrypted until a Sales call needs it."""

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


def require_object_id(value: str | None, what: str) -> str:
    """A Sales id (24 lowercase hex-like characters), checked before it reaches a query."""
    if value is None or not OBJECT_ID.fullmatch(value):
        raise BadParameters(f"{what} is missing or not a Sales id")
    return value


def resolve_instance(database: Database, group_id: str) -> ResolvedInstance:
    """The live installation covering ``group_id``.

    Unknown group or only deleted installations: ``UnknownInstance`` (404).
    Covered only by a disabled one: ``InstanceDisabled``. Should two live
    installations cover the group (an account that installed twice), the
    enabled one wins, then the newest, so the choice never flips between
    requests.
    """
    require_object_id(group_id, "group")
    with database.reading() as connection:
        rows = connection.execute(_BY_GROUP, {"group_id": group_id}).all()
    if not rows:
        raise UnknownInstance("no installation covers the group")
    best = max(rows, key=lambda row: (row.state == InstanceState.ENABLED.value, row.state in _LIVE, row.id))
    if best.state not in _LIVE:
        raise InstanceDisabled("the installation is disabled")
    return _snapshot(best)


def load_instance(database: Database, public_id: str, group_id: str) -> ResolvedInstance:
    """The installation a context token names, still live and still covering the token's group.

    A deleted installation is ``UnknownInstance`` (404); one that does not
    cover the group (re-provisioned since, or a token naming another
    installation's group) is ``ContextMismatch`` (403).
    """
    with database.reading() as connection:
        state = connection.scalar(_STATE, {"public_id": public_id})
        keys = {"public_id": public_id, "group_id": group_id}
        row = connection.execute(_BY_INSTANCE_AND_GROUP, keys).first()
    if state is None or state == InstanceState.DELETED.value:
        raise UnknownInstance("the installation is gone")
    if state not in _LIVE:
        raise InstanceDisabled("the installation is disabled")
    if row is None:
        raise ContextMismatch("the installation does not cover the token's group")
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


def integration_group(database: Database, instance: ResolvedInstance) -> str | None:
    """The group of the installation's integration (the root of the groups it covers), as provisioned."""
    with database.reading_session() as session:
        return session.scalar(select(Instance.sales_group_id).where(Instance.id == instance.id))


def require_prospect_in_instance(
    database: Database, instance: ResolvedInstance, prospect: Mapping[str, Any]
) -> None:
    """Refuse (403) a Sales prospect whose group this installation does not cover.

    Dialogs act on the prospect Sales hands them; this keeps a token of one
    account from ever reaching another account's contact, whatever Sales'
    own scoping does.
    """
    if not covers_group(database, instance, prospect_group_id(prospect)):
        raise ForeignProspect("the prospect's group is outside the installation")


def prospect_group_id(prospect: Mapping[str, Any]) -> str | None:
    """The prospect's group id: ``groupId``, or ``group`` when Sales sends it as an id or an object."""
    group = prospect.get("groupId") or prospect.get("group")
    if isinstance(group, Mapping):
        group = group.get("id") or group.get("_id")
    return group if isinstance(group, str) else None


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
