"""Signing extension-point URLs exactly as Sales does (seed: HMAC-SHA256 of the URL, hex)."""

from __future__ import annotations

import hashlib
import hmac


def signature_for(url: str, key: str) -> str:
    return hmac.new(key.encode(), url.encode(), hashlib.sha256).hexdigest()


def sign_url(url: str, key: str) -> str:
    """Append ``signature`` computed over the URL as it stands, as the last parameter."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}signature={signature_for(url, key)}"
