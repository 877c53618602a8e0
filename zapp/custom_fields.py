"""The custom fields the App declares on Sales' prospects, and the values it writes into them.

The manifest used to declare three fields that nothing wrote. Two kinds of
field, two answers:

- **Prospect fields are filled.** Sales documents a call that writes a
  prospect's additional data (``PATCH /prospect/{id}/additionalData``, a map
  of field key to value). When a contact is first contacted (Sales'
  ``firstContactedAt`` reaches the store for the first time, through a
  webhook), a job writes how many minutes that took, whether it was within
  the installation's speed-to-lead target, and who the contact's agent was
  then. That a manifest's custom field is the prospect's additional-data
  entry of the same key is our reading *(inferred)*: the seed's field
  schema is cut off.
- **User fields are no longer declared.** No documented Sales call writes a
  user's (agent's) data, so a per-agent on-time rate could never be filled;
  the Speed to lead report shows it instead.

``key``, localizable ``name`` and ``type`` as a field's elements are our
reading *(inferred)*, kept here alone so they are corrected in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .i18n import N_

MINUTE_MS = 60_000


@dataclass(frozen=True)
class CustomField:
    key: str
    name: str  # English message id, localized in the manifest
    type: str  # "number", "boolean" or "text" (inferred)


FIRST_RESPONSE_MINUTES = CustomField("zappFirstResponseMinutes", N_("Minutes to first response"), "number")
ANSWERED_ON_TIME = CustomField("zappAnsweredOnTime", N_("Answered on time"), "boolean")
FIRST_RESPONDER = CustomField("zappFirstResponder", N_("First responder"), "text")

PROSPECT_FIELDS = (FIRST_RESPONSE_MINUTES, ANSWERED_ON_TIME, FIRST_RESPONDER)
USER_FIELDS: tuple[CustomField, ...] = ()


def first_response_values(
    created_ms: int, first_contact_ms: int, responder: str, target_minutes: int
) -> dict[str, Any]:
    """The additional data of a contact first contacted at ``first_contact_ms``.

    Whole minutes, rounded down (a reply after 4 min 59 s took 4 minutes), as
    the Speed to lead report counts "within the target"; a first contact
    stamped before the contact's creation (clocks apart) counts as 0.
    """
    waited_ms = max(first_contact_ms - created_ms, 0)
    values: dict[str, Any] = {
        FIRST_RESPONSE_MINUTES.key: waited_ms // MINUTE_MS,
        ANSWERED_ON_TIME.key: waited_ms <= target_minutes * MINUTE_MS,
    }
    if responder:
        values[FIRST_RESPONDER.key] = responder
    return values
