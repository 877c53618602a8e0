"""Ids go into URL paths only after this check: no traversal, no injected query."""

from __future__ import annotations

import re

from .errors import InvalidId

OBJECT_ID = re.compile(r"^[a-z0-9]{24}$")
CHANNELS = ("whatsapp", "facebook")


def require_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not OBJECT_ID.fullmatch(value):
        raise InvalidId(f"{what} must be 24 lowercase hex characters")
    return value


def require_channel(value: object) -> str:
    if not isinstance(value, str) or value not in CHANNELS:
        raise InvalidId(f"channel must be one of {', '.join(CHANNELS)}")
    return value
