"""The instance state machine: installed, enabled, disabled, deleted.

Each operation is one transaction that locks the instance row it changes
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite takes its write lock at
``BEGIN IMMEDIATE``), so racing calls are serialised. An operation that loses
a race on a unique index (two installs of one key, an install racing a key
refresh) is replayed against the state the winner committed; every operation
is idempotent, so the replay answers as a retry would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..db import Database
from ..installations import settings_form
from ..installations.errors import InstallationNotFound
from ..installations.lookup import locked_by_key_index
from ..models import AutoReply, Instance, InstanceState, KeyRetirement, RetiredKey, utcnow
from ..store import rollups
from ..vault import Vault
from ..webhooks import tokens

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 3


@dataclass(frozen=True)
class InstallResult:
    public_id: str
    created: bool


InstanceListener = Callable[[str, str], None]
"""Called with (event, instance public id) after a transition commits."""

DeleteHook = Callable[[str], None]
"""Called with the key's blind index before a delete destroys the key."""


class LifecycleService:
    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault
        self._listeners: list[InstanceListener] = []
        self._delete_hooks: list[DeleteHook] = []

    def subscribe(self, listener: InstanceListener) -> None:
        """Run ``listener`` after each committed transition (e.g. to queue provisioning)."""
        self._listeners.append(listener)

    def before_delete(self, hook: DeleteHook) -> None:
        """Run ``hook`` while the key still exists, before a delete (e.g. to unsubscribe at Sales)."""
        self._delete_hooks.append(hook)

    # -- transitions ---------------------------------------------------------

    def install(self, api_key: str, enabled: bool | None) -> InstallResult:
        index = self._vault.blind_index(api_key)
        ciphertext = self._vault.encrypt(api_key)

        def run(session: Session) -> InstallResult:
            instance = locked_by_key_index(session, index)
            if instance is not None:
                _set_enabled_state(instance, enabled)
                return InstallResult(instance.public_id, created=False)
            session.execute(delete(RetiredKey).where(RetiredKey.key_index == index))
            instance = Instance(
                key_index=index,
                key_ciphertext=ciphertext,
                settings={},
                state=_state_for(enabled),
            )
            session.add(instance)
            session.flush()
            return InstallResult(instance.public_id, created=True)

        result = self._run(run)
        self._notify("installed", result.public_id)
        return result

    def set_enabled(self, api_key: str, enabled: bool) -> None:
        index = self._vault.blind_index(api_key)

        def run(session: Session) -> str:
            instance = self._require(session, index)
            _set_enabled_state(instance, enabled)
            return instance.public_id

        public_id = self._run(run)
        self._notify("enabled" if enabled else "disabled", public_id)

    def refresh_key(self, api_key: str, new_api_key: str) -> None:
        """Move the instance to ``new_api_key``; the old key opens nothing from this commit on."""
        old_index = self._vault.blind_index(api_key)
        new_index = self._vault.blind_index(new_api_key)
        ciphertext = self._vault.encrypt(new_api_key)
        token = tokens.new_token(self._vault)  # whoever held the old key may know the callback URL

        def run(session: Session) -> str:
            instance = locked_by_key_index(session, old_index)
            if instance is None:
                return _replayed_refresh(session, old_index, new_index)
            if old_index == new_index:
                return instance.public_id
            _absorb_duplicate_install(session, new_index, instance)
            session.execute(delete(RetiredKey).where(RetiredKey.key_index == new_index))
            session.merge(
                RetiredKey(key_index=old_index, instance_id=instance.id, reason=KeyRetirement.REFRESHED)
            )
            instance.key_index = new_index
            instance.key_ciphertext = ciphertext
            tokens.rotate(instance, token)
            instance.version += 1
            return instance.public_id

        public_id = self._run(run)
        self._notify("key_refreshed", public_id)

    def delete(self, api_key: str) -> None:
        """Logical delete: the row stays, its key material does not."""
        index = self._vault.blind_index(api_key)
        for hook in self._delete_hooks:
            try:
                hook(index)
            except Exception:  # cleanup at Sales must never block the delete itself
                log.exception("a before-delete hook failed; deleting anyway")

        def run(session: Session) -> str | None:
            instance = locked_by_key_index(session, index)
            if instance is None:
                retired = session.get(RetiredKey, index)
                if retired is not None and retired.reason == KeyRetirement.DELETED:
                    return None  # a retried delete: already done
                raise InstallationNotFound("no installation has this key")
            _mark_deleted(session, instance)
            session.add(RetiredKey(key_index=index, instance_id=instance.id, reason=KeyRetirement.DELETED))
            return instance.public_id

        public_id = self._run(run)
        if public_id is not None:
            self._notify("deleted", public_id)

    # -- settings ------------------------------------------------------------

    def settings(self, api_key: str) -> dict[str, Any]:
        index = self._vault.blind_index(api_key)
        return self._run(
            lambda session: settings_form.merged_settings(self._require(session, index).settings)
        )

    def update_settings(self, api_key: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` (validated against the settings form); a refused change stores nothing.
        A new speed-to-lead target re-bins the report rollups in the same transaction, so the report's
        share on time is exact from the moment the change is visible."""
        index = self._vault.blind_index(api_key)

        def run(session: Session) -> dict[str, Any]:
            instance = self._require(session, index)
            before = settings_form.merged_settings(instance.settings)
            merged = settings_form.apply_changes(instance.settings, changes)
            if merged != instance.settings:
                instance.settings = merged
                instance.version += 1
            if merged[rollups.TARGET_SETTING] != before[rollups.TARGET_SETTING]:
                rollups.rebuild_speed_to_lead(session, instance.id)
            return merged

        return self._run(run)

    def instance_id_for_key(self, api_key: str) -> str:
        index = self._vault.blind_index(api_key)
        return self._run(lambda session: self._require(session, index).public_id)

    # -- plumbing ------------------------------------------------------------

    def _require(self, session: Session, index: str) -> Instance:
        instance = locked_by_key_index(session, index)
        if instance is None:
            raise InstallationNotFound("no installation has this key")
        return instance

    def _run(self, operation: Callable[[Session], T]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._database.transaction() as session:
                    return operation(session)
            except (IntegrityError, OperationalError) as error:
                if attempt == ATTEMPTS or not _is_race(error):
                    raise
                log.info("lifecycle operation lost a race; replaying", extra={"attempt": attempt})
        raise AssertionError("unreachable")

    def _notify(self, event: str, public_id: str) -> None:
        log.debug("instance %s: %s", public_id, event, extra={"instance": public_id, "event": event})
        for listener in self._listeners:
            listener(event, public_id)


def _state_for(enabled: bool | None) -> str:
    if enabled is None:
        return InstanceState.INSTALLED.value
    return (InstanceState.ENABLED if enabled else InstanceState.DISABLED).value


def _set_enabled_state(instance: Instance, enabled: bool | None) -> None:
    if enabled is None:
        return
    target = _state_for(enabled)
    if instance.state != target:
        instance.state = target
        instance.version += 1


def _replayed_refresh(session: Session, old_index: str, new_index: str) -> str:
    """A refresh whose old key is already retired succeeds only if it was this very refresh."""
    retired = session.get(RetiredKey, old_index)
    if retired is not None and retired.reason == KeyRetirement.REFRESHED:
        current = locked_by_key_index(session, new_index)
        if current is not None and current.id == retired.instance_id:
            return current.public_id
    raise InstallationNotFound("no installation has this key")


def _absorb_duplicate_install(session: Session, new_index: str, keeper: Instance) -> None:
    """An install of the new key that raced ahead of this refresh made a twin; retire it.

    Sales issues one key per installation, so an instance already holding the
    new key can only be that twin. The refreshed instance keeps its history.
    """
    twin = locked_by_key_index(session, new_index)
    if twin is None or twin.id == keeper.id:
        return
    log.warning(
        "key refresh met an install of the same key; merging",
        extra={"instance": keeper.public_id, "twin": twin.public_id},
    )
    _mark_deleted(session, twin)
    session.flush()


def _mark_deleted(session: Session, instance: Instance) -> None:
    """The logical delete: the row stays, every secret it held is destroyed.

    Replies waiting for another attempt are given up here: with no key they could never be sent,
    and left waiting they would look like work to do forever.
    """
    session.execute(
        update(AutoReply)
        .where(AutoReply.instance_id == instance.id, AutoReply.state == "retry")
        .values(state="failed", retry_at=None, detail="the installation was deleted")
    )
    instance.state = InstanceState.DELETED.value
    instance.key_index = None
    instance.key_ciphertext = None
    instance.webhook_token_index = None
    instance.webhook_token_ciphertext = None
    instance.previous_webhook_token_index = None
    instance.previous_webhook_token_until = None
    instance.deleted_at = utcnow()
    instance.version += 1


def _is_race(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True
    text = str(getattr(error, "orig", error)).lower()
    return "deadlock" in text or "could not serialize" in text or "database is locked" in text
