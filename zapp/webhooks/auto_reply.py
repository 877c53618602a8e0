"""The automatic reply: one template message to each new prospect, at most once.

"Once" is the ``auto_replies`` primary key: the reply is claimed by inserting
its row (``ON CONFLICT DO NOTHING``) in the transaction that marks the event
processed, and only the claimer sends. A reply Sales surely did not send (no
connection, its rate limit, a 503) is tried again with backoff from the
periodic sweep; one Sales may have sent (a timeout, another 5xx) is not. A
worker dying between the claim and the send leaves the row ``pending``: a
prospect may miss its reply, but never gets two (a duplicate message to a
customer is the worse failure).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session

from ..db import Database, dialect_insert
from ..installations.settings_form import merged_settings
from ..models import AutoReply, Instance, InstanceGroup, InstanceState, utcnow
from ..sales import SalesClient
from ..sales.errors import NotFound, RateLimited, SalesError, Unavailable

log = logging.getLogger(__name__)

MAX_PARAMETER_LENGTH = 200
REPLY_ATTEMPTS = 6  # tried again after 1, 2, 4, 8 and 16 minutes
REPLY_FIRST_BACKOFF = timedelta(minutes=1)


@dataclass(frozen=True)
class ReplyPlan:
    """What to send, read from the instance's settings."""

    channel: str
    template: str

    @classmethod
    def from_settings(cls, stored: Mapping[str, Any]) -> ReplyPlan | None:
        """The plan when automatic reply is on and names a template; None otherwise."""
        settings = merged_settings(stored)
        if not settings["automaticReplyEnabled"] or not settings["automaticReplyTemplate"]:
            return None
        return cls(settings["automaticReplyChannel"], settings["automaticReplyTemplate"])


def whatsapp_safe(value: Any) -> str:
    """A template parameter WhatsApp accepts: no new line, tab or run of four spaces."""
    return " ".join(str(value or "").split())[:MAX_PARAMETER_LENGTH]


def _first(value: Any) -> Mapping[str, Any]:
    """Sales gives the agent as an object or as a one-element list; either way, the object."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def template_parameters(prospect: Mapping[str, Any]) -> dict[str, str]:
    """The placeholders templates use (``{{prospect.firstName}}``, ...), filled from the prospect."""
    agent = _first(prospect.get("agent"))
    leads = prospect.get("leads")
    lead = leads[-1] if isinstance(leads, list) and leads and isinstance(leads[-1], Mapping) else {}
    product = found if isinstance(found := lead.get("product"), Mapping) else {}
    values = {
        "prospect.firstName": prospect.get("firstName"),
        "prospect.lastName": prospect.get("lastName"),
        "agent.firstName": agent.get("firstName"),
        "agent.lastName": agent.get("lastName"),
        "product.model": product.get("model"),
    }
    return {name: whatsapp_safe(value) for name, value in values.items()}


class AutoReplier:
    def __init__(self, database: Database) -> None:
        self._database = database

    def claim(self, session: Session, instance_id: int, prospect_id: str, group_id: str) -> bool:
        """Take the prospect's one reply, inside the caller's transaction; False if already taken.

        The webhook is a hint; the prospect re-read with the instance's key is
        the proof that it is the instance's to answer (Sales shows a key only
        the prospects of its integration's groups). A group the instance does
        not know yet (created after provisioning, or a delivery that beat the
        provisioning's commit) still gets its reply, and marks the instance
        for a provisioning refresh so that the reports learn the group too.
        """
        covered = session.scalar(
            select(InstanceGroup.id).where(
                InstanceGroup.instance_id == instance_id, InstanceGroup.group_id == group_id
            )
        )
        if covered is None:
            log.info("prospect %s is in a group this instance does not know yet; refreshing", prospect_id)
            session.execute(
                update(Instance).where(Instance.id == instance_id).values(version=Instance.version + 1)
            )
        insert = dialect_insert(session.get_bind().dialect.name)
        statement = (
            insert(AutoReply)
            .values(instance_id=instance_id, prospect_id=prospect_id, state="pending", created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["instance_id", "prospect_id"])
            .returning(AutoReply.prospect_id)
        )
        return session.scalar(statement) is not None

    def send(
        self, client: SalesClient, instance_id: int, plan: ReplyPlan, prospect: Mapping[str, Any]
    ) -> bool:
        """Send the claimed reply and record how it went; True when Sales accepted it."""
        try:
            client.send_template(prospect["id"], plan.channel, plan.template, template_parameters(prospect))
        except (SalesError, ValueError) as error:
            self._record_failure(instance_id, prospect["id"], error)
            return False
        self._record(instance_id, prospect["id"], "sent", None)
        return True

    def due(self, now: datetime, limit: int = 500) -> list[tuple[int, str]]:
        """Replies waiting to be tried again, of enabled instances, as (instance id, prospect id)."""
        with self._database.reading_session() as session:
            rows = session.execute(
                select(AutoReply.instance_id, AutoReply.prospect_id)
                .join(Instance, Instance.id == AutoReply.instance_id)
                .where(
                    AutoReply.state == "retry",
                    AutoReply.retry_at < now,
                    Instance.state == InstanceState.ENABLED.value,
                )
                .order_by(AutoReply.retry_at)
                .limit(limit)
            )
            return [(instance_id, prospect_id) for instance_id, prospect_id in rows]

    def resend(self, client: SalesClient, instance_id: int, plan: ReplyPlan, prospect_id: str) -> bool:
        """Try a reply again, if this run is the one that takes it; True when Sales accepted it.

        The prospect is read again (its name may have changed, it may be gone).
        """
        if not self._take_retry(instance_id, prospect_id):
            return False
        try:
            prospect = client.get_prospect(prospect_id)
        except SalesError as error:
            self._record_failure(instance_id, prospect_id, error)
            return False
        return self.send(client, instance_id, plan, prospect)

    def _take_retry(self, instance_id: int, prospect_id: str) -> bool:
        """Move the reply from ``retry`` back to ``pending``; only the run whose update matched sends."""
        with self._database.transaction() as session:
            taken = session.execute(_waiting(instance_id, prospect_id).values(state="pending", retry_at=None))
            return cast(CursorResult[Any], taken).rowcount == 1

    def give_up(self, instance_id: int, prospect_id: str, reason: str) -> None:
        """Stop trying a reply that waits for another attempt (the settings no longer ask for it)."""
        with self._database.transaction() as session:
            given_up = _waiting(instance_id, prospect_id).values(state="failed", retry_at=None, detail=reason)
            session.execute(given_up)

    def _record_failure(self, instance_id: int, prospect_id: str, error: Exception) -> None:
        status = getattr(error, "status", None)
        reason = f"Sales answered {status}: {error}" if status else str(error)
        log.warning("automatic reply to %s failed: %s", prospect_id, reason)
        self._record(instance_id, prospect_id, _state_after(error), reason)

    def _record(self, instance_id: int, prospect_id: str, state: str, detail: str | None) -> None:
        with self._database.transaction() as session:
            reply = session.get(AutoReply, (instance_id, prospect_id))
            if reply is None:
                return
            reply.attempts += 1
            if state == "retry" and reply.attempts >= REPLY_ATTEMPTS:
                state = "failed"
            reply.state = state
            reply.detail = detail[:200] if detail else None
            reply.sent_at = utcnow() if state == "sent" else None
            reply.retry_at = utcnow() + _backoff(reply.attempts) if state == "retry" else None


def _waiting(instance_id: int, prospect_id: str) -> Update:
    """An update of the reply only while it waits for another attempt: whoever matches owns it."""
    return update(AutoReply).where(
        AutoReply.instance_id == instance_id, AutoReply.prospect_id == prospect_id, AutoReply.state == "retry"
    )


def _backoff(attempts: int) -> timedelta:
    return REPLY_FIRST_BACKOFF * 2 ** (attempts - 1)


def _state_after(error: Exception) -> str:
    """``retry`` when Sales surely did not send it and may later, ``unknown`` when it may have sent
    it, ``failed`` when it refused (or the prospect is gone)."""
    if not isinstance(error, SalesError) or isinstance(error, NotFound):
        return "failed"
    if error.may_have_changed_something:
        return "unknown"
    if isinstance(error, Unavailable | RateLimited):  # and Sales did not act: see the check above
        return "retry"
    return "failed"
