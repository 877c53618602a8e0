"""Quotes in the store: each quote as the newest ``quotes`` envelope told it.

The seed only names the ``quotes`` topic (L1044); the envelope carrying the
quote under ``quote`` is *(inferred)* (``sales/inferred.py``). Each event
upserts its quote by ``(instance, quote id)``, newest ``seen_ms`` wins (the
envelope's ``updatedAt``), so deliveries arriving out of order never bring an
old status back. No source names a deletion of a quote (the topic says
"Quotes created or updated"; Sales has no call that deletes one), so the
store keeps every quote it was told of.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import StoredQuote
from .records import epoch_ms

# The quote's fields the Timeline shows; ``additionalData`` is left out (it needs its own scope).
KEPT_FIELDS = ("id", "prospectId", "status", "items", "total", "createdAt", "acceptedAt", "rejectedAt",
               "finishedAt")  # fmt: skip


def quote_row(instance_id: int, quote: Any, *, updated_at: Any) -> dict[str, Any] | None:
    """The store row an envelope's quote makes; None when it names no quote or no prospect."""
    if not isinstance(quote, Mapping):
        return None
    quote_id, prospect_id = quote.get("id"), quote.get("prospectId")
    if not _is_id(quote_id) or not _is_id(prospect_id):
        return None
    # The envelope's ``updatedAt`` is its prospect's (the sandbox's, at least): a quote decided later
    # carries its decision time, so the newest of them orders two states of one quote.
    times = [
        updated_at,
        *(quote.get(name) for name in ("createdAt", "acceptedAt", "rejectedAt", "finishedAt")),
    ]
    seen_ms = max((epoch_ms(value) or 0 for value in times), default=0)
    return {
        "instance_id": instance_id,
        "quote_id": quote_id,
        "prospect_id": prospect_id,
        "quote": {name: quote[name] for name in KEPT_FIELDS if name in quote},
        "seen_ms": seen_ms,
    }


def store_quote(session: Session, row: Mapping[str, Any]) -> bool:
    """Record the quote unless a newer state of it is known. Returns whether the row changed."""
    known = session.get(StoredQuote, (row["instance_id"], row["quote_id"]), with_for_update=True)
    if known is None:
        session.add(StoredQuote(**row))
        session.flush()
        return True
    if row["seen_ms"] < known.seen_ms:
        return False
    known.prospect_id, known.quote = row["prospect_id"], dict(row["quote"])
    known.seen_ms = row["seen_ms"]
    return True


def stored_quotes(session: Session, instance_id: int, prospect_id: str) -> list[dict[str, Any]] | None:
    """The prospect's quotes in the store; None when the store has none of it yet."""
    rows = session.scalars(
        select(StoredQuote).where(
            StoredQuote.instance_id == instance_id, StoredQuote.prospect_id == prospect_id
        )
    ).all()
    if not rows:
        return None
    return [dict(row.quote) for row in rows]


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 24
