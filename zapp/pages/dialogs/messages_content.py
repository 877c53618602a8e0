"""What the Messages dialog shows and checks: channels, templates with their parameters, windows, files.

Plain functions over Sales' JSON, so the rules (WhatsApp's parameter rule,
the 24-hour conversation window, what a file may be) are tested on their own
and enforced on the server whatever the page's script did.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...i18n import N_
from ...sales.ids import CHANNELS
from ...store.records import epoch_ms

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]{1,64})\s*\}\}")
MAX_PARAMETER = 1000
MAX_TEXT = 4096
MAX_TEMPLATES = 100
WINDOW_SECONDS = 24 * 3600
# The channel an interaction's ``via`` belongs to, for the conversation window.
CHANNEL_OF_VIA = {"whatsApp": "whatsapp", "facebook": "facebook"}


@dataclass(frozen=True)
class FileKind:
    mimetype: str
    max_bytes: int
    extensions: tuple[str, ...]


MIB = 1024 * 1024
# What WhatsApp and Messenger deliver reliably, by the file's own first bytes (never its declared type).
FILE_KINDS = (
    FileKind("image/jpeg", 5 * MIB, (".jpg", ".jpeg")),
    FileKind("image/png", 5 * MIB, (".png",)),
    FileKind("application/pdf", 10 * MIB, (".pdf",)),
    FileKind("audio/ogg", 10 * MIB, (".ogg", ".opus")),
    FileKind("audio/mpeg", 10 * MIB, (".mp3",)),
    FileKind("video/mp4", 16 * MIB, (".mp4",)),
)
MAX_FILE_BYTES = max(kind.max_bytes for kind in FILE_KINDS)


def parameter_problem(value: str) -> str | None:
    """What to fix in a parameter (WhatsApp's rule, our length cap), as a message id; None if fine."""
    if "    " in value:
        return N_("Remove the four consecutive spaces: WhatsApp refuses them.")
    if "\r" in value or "\n" in value:
        return N_("Remove the line break: WhatsApp refuses it in a parameter.")
    if "\t" in value:
        return N_("Remove the tab: WhatsApp refuses it in a parameter.")
    if len(value) > MAX_PARAMETER:
        return N_("Shorten this value to 1000 characters.")
    if not value.strip():
        return N_("Fill in this value.")
    return None


def clean_parameter(value: Any) -> str:
    """A value from Sales made fit for a template parameter: one line, single spaces, capped."""
    text = value if isinstance(value, str) else ""
    return " ".join(text.split())[:MAX_PARAMETER]


def template_parameters(body: str) -> list[str]:
    """The placeholders of a template body, in order of first appearance."""
    names: list[str] = []
    for name in PLACEHOLDER.findall(body):
        if name not in names:
            names.append(name)
    return names


def parameter_defaults(prospect: Mapping[str, Any]) -> dict[str, str]:
    """Values Sales' template placeholders usually name, taken from the prospect."""
    agent = prospect.get("agent") if isinstance(prospect.get("agent"), Mapping) else {}
    leads = prospect.get("leads")
    lead = leads[0] if isinstance(leads, list) and leads and isinstance(leads[0], Mapping) else {}
    product = lead.get("product") if isinstance(lead.get("product"), Mapping) else {}
    phones, emails = prospect.get("phones"), prospect.get("emails")
    values = {
        "prospect.firstName": prospect.get("firstName"),
        "prospect.lastName": prospect.get("lastName"),
        "prospect.phone": phones[0] if isinstance(phones, list) and phones else None,
        "prospect.email": emails[0] if isinstance(emails, list) and emails else None,
        "agent.firstName": agent.get("firstName"),
        "agent.lastName": agent.get("lastName"),
        "product.make": product.get("make"),
        "product.model": product.get("model"),
        "lead.source": lead.get("source"),
    }
    return {name: clean_parameter(value) for name, value in values.items()}


def shape_channels(
    channels: Any, prospect: Mapping[str, Any], windows: Mapping[str, float | None]
) -> list[dict[str, Any]]:
    """The channels Sales offers this prospect, each template with its parameters pre-filled."""
    defaults = parameter_defaults(prospect)
    shaped = []
    for channel in channels if isinstance(channels, list) else []:
        if not isinstance(channel, Mapping) or channel.get("channel") not in CHANNELS:
            continue
        name = channel["channel"]
        until = windows.get(name)
        offered = channel.get("templates")
        templates = [
            _template(template, defaults)
            for template in (offered if isinstance(offered, list) else [])[:MAX_TEMPLATES]
            if isinstance(template, Mapping) and isinstance(template.get("key"), str)
        ]
        shaped.append(
            {
                "channel": name,
                "windowOpenUntil": _iso(until) if until else None,
                "templates": templates,
            }
        )
    return shaped


def _template(template: Mapping[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    body = template.get("body") if isinstance(template.get("body"), str) else ""
    return {
        "key": template["key"][:100],
        "name": (template.get("name") if isinstance(template.get("name"), str) else template["key"])[:200],
        "body": body[:MAX_TEXT],
        "parameters": [{"name": name, "value": defaults.get(name, "")} for name in template_parameters(body)],
    }


def conversation_windows(
    interactions: Any, stored_due: Mapping[str, int | None], now: float | None = None
) -> dict[str, float | None]:
    """Until when (epoch seconds) a free-text message may be sent on each channel; None when closed.

    Sales tells the window in its prospect notifications (``whatsAppDueAt``,
    kept by the store); without one, the window is 24 hours from the contact's
    last message on that channel (an interaction the agent did not start).
    """
    now = time.time() if now is None else now
    until: dict[str, float | None] = {channel: None for channel in CHANNELS}
    for item in interactions if isinstance(interactions, list) else []:
        if not isinstance(item, Mapping) or item.get("proactive") is not False:
            continue
        channel = CHANNEL_OF_VIA.get(item.get("via"))
        created = _epoch(item.get("createdAt"))
        if channel and created is not None:
            until[channel] = max(until[channel] or 0, created + WINDOW_SECONDS)
    for channel, due_ms in stored_due.items():
        if due_ms:
            until[channel] = max(until.get(channel) or 0, due_ms / 1000)
    return {channel: value if value and value > now else None for channel, value in until.items()}


# ISO media files say what they are in their first box; these brands are MP4 video (not HEIC,
# AVIF, QuickTime or 3GP, which share the container).
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V "}
)


def sniff_file(head: bytes) -> str | None:
    """The media type a file's first bytes prove, among the ones we send; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return "audio/mpeg"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "video/mp4"
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header (MP1/2/3): sync bits, then a layer that is not 00 (which is AAC's ADTS)."""
    return len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0


def file_kind(mimetype: str | None) -> FileKind | None:
    return next((kind for kind in FILE_KINDS if kind.mimetype == mimetype), None)


def safe_filename(name: str | None, kind: FileKind) -> str:
    """A name Sales can pass on: no path, no control characters, capped, ending as its content is."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable() and char not in '<>:"|?*')
    stem, dot, extension = base.strip(" .").rpartition(".")
    if not dot:
        stem = extension
    if not dot or f".{extension.lower()}" not in kind.extensions:
        extension = kind.extensions[0].lstrip(".")
    return f"{(stem or 'file')[:100]}.{extension.lower()}"


def _epoch(value: Any) -> float | None:
    millis = epoch_ms(value)
    return millis / 1000 if millis is not None else None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
