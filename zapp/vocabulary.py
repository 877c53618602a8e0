"""Sales' enumerated values and the label each is shown with, shared by the dialogs and the reports.

Kept in one place so that a value Sales adds is named once, and translated once.
"""

from __future__ import annotations

from .i18n import N_

# Sales' ``via`` values (the list filter of /prospects/interactions).
VIA_LABELS = {
    "walkIn": N_("Walk-in"),
    "sms": N_("SMS"),
    "whatsApp": N_("WhatsApp"),
    "email": N_("Email"),
    "testDrive": N_("Test drive"),
    "visit": N_("Visit"),
    "phoneCall": N_("Phone call"),
    "outboundCall": N_("Outbound call"),
    "inboundCall": N_("Inbound call"),
    "facebook": N_("Facebook"),
    "note": N_("Note"),
}

# A quote's ``status`` (Sales' Quote model).
QUOTE_STATUS_LABELS = {
    "pending": N_("Pending"),
    "accepted": N_("Accepted"),
    "rejected": N_("Rejected"),
}

# The channels a template or message goes out on, as Sales names them in its send calls.
CHANNEL_LABELS = {"whatsapp": N_("WhatsApp"), "facebook": N_("Facebook Messenger")}

# What stands for the agent of a prospect or an interaction that has none.
NO_AGENT = N_("No agent")
