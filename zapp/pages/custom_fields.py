"""Custom fields the App adds to Sales' prospect and user entities (declared in the manifest).

The seed names the feature ("an array of fields to add to the prospect and
user entities") but its field schema is cut off; ``key``, localizable
``name`` and ``type`` are our reading *(inferred)*, kept here alone so they
are corrected in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_


@dataclass(frozen=True)
class CustomField:
    key: str
    name: str  # English message id, localized in the manifest
    type: str  # "number", "boolean" or "text" (inferred)


PROSPECT_FIELDS = (
    CustomField("zappFirstResponseMinutes", N_("Minutes to first response"), "number"),
    CustomField("zappAnsweredOnTime", N_("Answered on time"), "boolean"),
)
USER_FIELDS = (CustomField("zappOnTimeRate", N_("Leads answered on time (%)"), "number"),)
