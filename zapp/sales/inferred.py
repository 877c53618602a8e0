"""Every choice about Sales that no source states, made here and only here.

The reference (the seed, then ../shared/spec/sales-models.md) wins wherever it
speaks. Where it is silent, the sandbox still has to behave somehow and the
client and the webhook processing still have to read something; each such
choice is a constant below, marked *(inferred)*, listed in the README ("What
no source states"), and never presented as Sales' documented behaviour in an
error text. The sandbox's list rules (``zapp/sandbox/rules.py``) mark theirs
the same way and are listed in the README too.
"""

from __future__ import annotations

# -- statuses the reference does not give -----------------------------------------------------
NO_USER_STATUS = 409  # *(inferred)* an as-user call when the integration has no user configured
DISABLED_STATUS = 403  # *(inferred)* "any call made by a disabled App will return an error" (L1439)
INVALID_RANGE_STATUS = 400  # *(inferred)* a reversed or longer-than-31-days date range
WINDOW_CLOSED_STATUS = 400  # *(inferred)* free text or a file outside the conversation window
LEAD_STATUS = 200  # the client's documented status for every POST /lead/* (not 201)

# -- paths the reference does not give ---------------------------------------------------------
SEARCH_PATH = "/prospects/search"  # *(inferred)* the search by email/phone (L358-366)
CHILDREN_PATH = "/groups/children"  # *(inferred)* the immediate children list (L1000-1015)
# *(inferred)* with both, the lead ``source`` alias fills ``utmSource`` only when that is missing.

# -- scopes the reference does not map (its scope table L9-28 read as plainly as possible) -------
TRANSFER_SCOPE = "prospects:write"  # *(inferred)* a transfer is a write (sales-models.md §5.7)
ACCOUNT_READ_SCOPE = "prospects:read"  # *(inferred)* /agents, /groups, /group/*, online agents
ANY_SCOPE = None  # *(inferred)* /integration(s), /leads/categories, /leads/defaults, /industries

# -- conversations -----------------------------------------------------------------------------
# *(inferred)* A contact's message (an interaction the agent did not start, on WhatsApp or
# Facebook) opens that channel's window for 24 hours, WhatsApp's own rule; Sales states no length.
CONVERSATION_WINDOW_SECONDS = 24 * 3600
# *(inferred)* The template values Sales fills itself; ``parameters`` overrides them (L656).
FILLED_BY_SALES = ("prospect.firstName", "prospect.lastName", "agent.firstName", "agent.lastName",
                   "product.model", "product.make")  # fmt: skip

# -- webhooks ------------------------------------------------------------------------------------
# The seed: "we will retry up to 20 times" (L1046); which failures it retries is lost from its text.
# *(inferred)* every failure (timeout, no connection, status >= 400) is retried, with a delay that
# doubles from the sandbox's ``delivery_backoff`` up to ``delivery_max_backoff``.
WEBHOOK_RETRIES = 20
WEBHOOK_TIMEOUT_SECONDS = 5.0  # *(inferred)* how long a delivery waits for the app's answer
# *(inferred)* ``attempts`` counts the attempts made before this one (the seed's example shows 0).
FIRST_ATTEMPTS_VALUE = 0
# *(inferred)* ``updates[]`` items: the seed prints ``[{}]``; the sandbox sends {"field", "value"}.
UPDATE_ITEM_KEYS = ("field", "value")
# *(inferred)* a ``quotes`` envelope: the common fields plus ``quote`` (the seed only names the topic).
QUOTE_ENVELOPE_KEY = "quote"
# *(inferred)* ``contactMediums`` items have no stated shape: the sandbox sends an empty list.

# -- data ----------------------------------------------------------------------------------------
# *(inferred)* a field without a value is left out of an answer, never sent as null (no source
# shows a null). The claim date the list filters on is the prospect's ``assigned`` time; the
# transfer date is its last transfer. A note (``type: note``) makes an interaction without ``via``
# (the seed's ``via`` values name no note). A lead's ``createdBy`` is the integration's id.
# A transfer body with both ``group`` and ``user`` assigns the user within that group.
NOTE_VIA = None
