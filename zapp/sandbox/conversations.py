"""Conversation windows: until when free text may be sent to a contact on a channel.

A contact's message (an interaction the agent did not start) on WhatsApp or
Facebook opens that channel's window; ``whatsAppDueAt``/``facebookDueAt``
appear on a prospect and in its notifications only while it is open. The
length is ``inferred.CONVERSATION_WINDOW_SECONDS``.
"""

from __future__ import annotations

from ..sales import inferred
from .data import iso
from .rules import epoch_of
from .state import Account

CHANNEL_VIA = {"whatsapp": "whatsApp", "facebook": "facebook"}
DUE_FIELDS = {"whatsapp": "whatsAppDueAt", "facebook": "facebookDueAt"}


def conversation_due(account: Account, prospect_id: str, channel: str, now: float) -> str | None:
    """When the channel's window closes (ISO), or None when it is not open."""
    via = CHANNEL_VIA[channel]
    last = None
    for interaction_id in account.by_prospect.get(prospect_id, ()):
        item = account.interactions[interaction_id]
        if item.get("proactive") is False and item.get("via") == via:
            at = epoch_of(item.get("createdAt"))
            if at is not None and (last is None or at > last):
                last = at
    if last is None or last + inferred.CONVERSATION_WINDOW_SECONDS <= now:
        return None
    return iso(last + inferred.CONVERSATION_WINDOW_SECONDS)


def conversation_windows(account: Account, prospect_id: str, now: float) -> dict[str, str]:
    """The open windows only, as the prospect fields that tell them."""
    due = {
        DUE_FIELDS[channel]: conversation_due(account, prospect_id, channel, now) for channel in DUE_FIELDS
    }
    return {name: value for name, value in due.items() if value}
