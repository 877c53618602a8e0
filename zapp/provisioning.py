"""Provisioning: learning an instance's place in Sales and subscribing to its events.

After install (and re-install, enable, key refresh) a job reads the
integration and its group tree, records the groups the instance covers (with
time zones) and subscribes to the ``prospects`` and ``interactions`` topics
(and ``agents`` where the key has Sales' ``integration:act-as-user`` scope,
which that topic needs) and ``quotes`` with a callback URL whose last segment is a random
per-instance token. Every
step is idempotent, so a retried or duplicated job converges on the same
state. Sales being down makes the job fail and retry with backoff; it never
fails the install itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from .config import Config
from .db import Database
from .installations.clients import SalesClients, StoredKey
from .installations.lookup import by_public_id
from .models import Instance, InstanceGroup, InstanceState, Subscription, utcnow
from .sales import SalesClient
from .sales.deadline import call_budget
from .sales.errors import Conflict, Forbidden, SalesError, Unauthorized
from .vault import Vault
from .webhooks import tokens

log = logging.getLogger(__name__)

# ``quotes``: reading quotes takes ``prospects:read`` (the seed's scope table, L14-15), which every
# key that provisions has (reading the group tree takes it, sales/inferred.py ACCOUNT_READ_SCOPE),
# and the sandbox asks no other scope of the topic: every instance subscribes to it.
TOPICS = ("prospects", "interactions", "quotes")
# Topics that need the key's integration:act-as-user scope (seed: "requires act-as-user scope").
ACT_AS_USER_TOPICS = ("agents",)
WEBHOOK_PATH = "/webhooks/"
# Longer than a provisioning run takes with Sales' retries; a killed run blocks the next for this long.
LEASE_SECONDS = 300


class ProvisioningFailed(Exception):
    """Sales could not be reached or refused for now; the job retries."""


@dataclass(frozen=True)
class _Target:
    instance_id: int
    public_id: str
    version: int
    key_index: str
    key_ciphertext: bytes = field(repr=False)
    callback_url: str = field(repr=False)
    token_index: str
    lease_until: float


class Provisioner:
    def __init__(self, config: Config, database: Database, vault: Vault, clients: SalesClients) -> None:
        self._config = config
        self._database = database
        self._vault = vault
        self._clients = clients

    def provision(self, public_id: str) -> bool:
        """Bring the instance's groups and subscription up to date; False when there is nothing to do."""
        target = self._prepare(public_id)
        if target is None:
            return False
        try:
            return self._provision(target)
        finally:  # however it ended, the job's retries and the next transition must find the lease free
            self._release_lease(target)

    def _provision(self, target: _Target) -> bool:
        public_id = target.public_id
        client = self._clients.client_for(target)
        try:
            integration = client.get_integration()
            groups = _group_tree(client, integration["groupId"])
            topics = [*TOPICS, *(ACT_AS_USER_TOPICS if _may_act_as_user(client) else ())]
            subscription = _ensure_subscription(client, target.callback_url, topics)
        except (Unauthorized, Forbidden) as error:
            self._record_error(target, f"Sales refused the key ({error.status}); waiting for a key refresh")
            log.warning("provisioning %s: Sales refused the key", public_id)
            return False
        except SalesError as error:
            self._record_error(target, f"Sales unavailable: {error}")
            raise ProvisioningFailed(str(error)) from None
        if not self._record(target, integration, groups, subscription):
            _drop_subscription(client, subscription)
            return False
        log.info("provisioned %s: %d groups, subscription %s", public_id, len(groups), subscription["id"])
        return True

    def instances_behind(self) -> list[str]:
        """Instances whose provisioning lags their last transition (for the periodic reconcile)."""
        with self._database.transaction() as session:
            rows = session.scalars(
                select(Instance.public_id).where(
                    Instance.state.in_((InstanceState.INSTALLED.value, InstanceState.ENABLED.value)),
                    Instance.provisioned_version < Instance.version,
                )
            )
            return list(rows)

    def deactivate_subscriptions(self, key_index: str) -> None:
        """Before a delete destroys the key: tell Sales to stop sending (best effort, bounded)."""
        with self._database.transaction() as session:
            instance = session.scalars(select(Instance).where(Instance.key_index == key_index)).one_or_none()
            if instance is None:
                return
            active = [s.sales_subscription_id for s in _active_subscriptions(session, instance.id)]
            instance_id, key = instance.id, StoredKey.of(instance)
        if not active:
            return
        client = self._clients.client_for(key)
        with call_budget(self._config.sales_request_budget):  # inside Sales' delete call: not a job's wait
            for subscription_id in active:
                try:
                    client.delete_subscription(subscription_id)
                except SalesError as error:
                    # The callback token dies with the instance, so deliveries fail and Sales gives up.
                    log.warning("could not deactivate subscription %s: %s", subscription_id, error)
        with self._database.transaction() as session:
            for subscription in _active_subscriptions(session, instance_id):
                subscription.active = False
                subscription.deactivated_at = utcnow()

    # -- steps -------------------------------------------------------------------

    def _prepare(self, public_id: str) -> _Target | None:
        self._vault.index_key()  # load it outside the transaction below (SQLite allows one writer)
        with self._database.transaction() as session:
            instance = by_public_id(session, public_id, lock=True)
            if instance is None or instance.state not in (InstanceState.INSTALLED, InstanceState.ENABLED):
                return None
            if instance.key_ciphertext is None or instance.key_index is None:
                return None
            now = time.time()
            if instance.provisioning_lease_until and instance.provisioning_lease_until > now:
                log.info("provisioning of %s is under way elsewhere; this run yields", public_id)
                return None
            lease_until = instance.provisioning_lease_until = now + LEASE_SECONDS
            token = self._webhook_token(instance)
            return _Target(
                instance_id=instance.id,
                public_id=instance.public_id,
                version=instance.version,
                key_index=instance.key_index,
                key_ciphertext=instance.key_ciphertext,
                callback_url=self._config.public_url + WEBHOOK_PATH + token,
                token_index=instance.webhook_token_index or "",
                lease_until=lease_until,
            )

    def _webhook_token(self, instance: Instance) -> str:
        if instance.webhook_token_ciphertext is not None:
            return self._vault.decrypt(instance.webhook_token_ciphertext)
        material = tokens.new_token(self._vault)
        tokens.install_token(instance, material)
        return material.token

    def rotate_webhook_token(self, public_id: str) -> bool:
        """A new callback token for the instance; the next provisioning subscribes with it, and the
        old one keeps working until Sales confirms that subscription. False when there is nothing to
        rotate (no such live instance, or no token yet: its first provisioning makes one)."""
        material = tokens.new_token(self._vault)
        with self._database.transaction() as session:
            instance = by_public_id(session, public_id, lock=True)
            if instance is None or instance.is_deleted or not tokens.rotate(instance, material):
                return False
            instance.version += 1  # provisioning is behind again: the reconcile finds it too
        log.info("webhook token of %s rotated; the previous one works until Sales confirms", public_id)
        return True

    def _record(self, target: _Target, integration: dict, groups: list[dict], subscription: dict) -> bool:
        """Store what Sales said; False when the instance was deleted while we asked."""
        with self._database.transaction() as session:
            instance = session.get(Instance, target.instance_id, with_for_update=True)
            if instance is None or instance.is_deleted:
                return False
            instance.sales_group_id = integration.get("groupId")
            instance.sales_account_id = integration.get("accountId")
            instance.language = integration.get("language")
            _replace_groups(session, instance, groups)
            _record_subscription(session, instance, subscription)
            if instance.webhook_token_index == target.token_index:  # not rotated again meanwhile
                tokens.confirm(instance, utcnow())
            instance.provisioned_version = max(instance.provisioned_version, target.version)
            instance.provisioned_at = utcnow()
            instance.provisioning_error = None
        return True

    def _release_lease(self, target: _Target) -> None:
        """Release this run's lease, unless it ran out and another run holds a lease of its own."""
        with self._database.transaction() as session:
            instance = session.get(Instance, target.instance_id, with_for_update=True)
            if instance is not None and instance.provisioning_lease_until == target.lease_until:
                instance.provisioning_lease_until = None

    def _record_error(self, target: _Target, message: str) -> None:
        with self._database.transaction() as session:
            instance = session.get(Instance, target.instance_id)
            if instance is not None:
                instance.provisioning_error = message[:500]


def _drop_subscription(client: SalesClient, subscription: dict) -> None:
    """A delete raced this run: the subscription it just made must not outlive the instance."""
    try:
        client.delete_subscription(subscription["id"])
    except SalesError as error:
        log.warning("could not drop the subscription of a deleted instance: %s", error)


def _group_tree(client: SalesClient, root_id: str) -> list[dict[str, Any]]:
    """The integration's group and every group below it, each once."""
    root = client.get_group(root_id)
    nodes = {root_id: root}
    for node in client.list_groups(parent=root_id):
        nodes.setdefault(node["id"], node)
    return list(nodes.values())


def _may_act_as_user(client: SalesClient) -> bool:
    """Whether the key has ``integration:act-as-user``: Sales refuses its as-user calls (403) without it.

    A key with the scope but no user configured yet is answered otherwise
    (409 in the sandbox, *(inferred)*); it has the scope, so it subscribes.
    """
    try:
        client.transfer_targets()
    except Forbidden:
        return False
    except Conflict:
        return True
    return True


def _ensure_subscription(client: SalesClient, callback_url: str, topics: list[str]) -> dict[str, Any]:
    for existing in client.list_subscriptions():
        if existing.get("callbackUrl") == callback_url and set(topics) <= set(existing.get("topics") or ()):
            return existing
    return client.create_subscription(topics, callback_url)


def _replace_groups(session, instance: Instance, groups: Iterable[dict[str, Any]]) -> None:
    session.execute(delete(InstanceGroup).where(InstanceGroup.instance_id == instance.id))
    for node in groups:
        session.add(
            InstanceGroup(
                instance_id=instance.id,
                group_id=node["id"],
                parent_id=node.get("parent"),
                name=(node.get("name") or "")[:200],
                display_name=(node.get("displayName") or node.get("name") or "")[:200],
                timezone=node.get("timezone") or "UTC",
                country_code=node.get("countryCode"),
            )
        )


def _active_subscriptions(session, instance_id: int) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription).where(Subscription.instance_id == instance_id, Subscription.active.is_(True))
        )
    )


def _record_subscription(session, instance: Instance, subscription: dict[str, Any]) -> None:
    current = None
    for row in _active_subscriptions(session, instance.id):
        if row.sales_subscription_id == subscription["id"]:
            current = row
        else:  # Sales keeps one per group: a new one replaced it
            row.active = False
            row.deactivated_at = utcnow()
    if current is None:
        session.add(
            Subscription(
                instance_id=instance.id,
                sales_subscription_id=subscription["id"],
                topics=list(subscription.get("topics") or TOPICS),
            )
        )
