"""Webhook callback tokens: made, rotated, and the old one retired once Sales confirms the new one.

The token is the secret last segment of the callback URL Sales delivers to;
it is stored like an API key (Fernet ciphertext, found by blind index).
Rotating it (``zapp webhooks rotate``, and every key refresh) makes a new
current token and keeps the old one as the *previous* token, accepted
without a time limit while Sales still delivers to it: until provisioning
has subscribed with the new URL and Sales has confirmed the subscription.
From that confirmation the previous token is accepted for ``GRACE`` more,
for deliveries Sales is still retrying, and then never again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import Instance
from ..vault import Vault

# (inferred) Sales retries a delivery up to 20 times but does not say over how long; a day covers
# any plausible backoff without keeping a retired secret alive for long.
GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class TokenMaterial:
    """A new token as stored: its blind index and ciphertext (made outside any transaction)."""

    index: str
    ciphertext: bytes
    token: str = field(repr=False)


def new_token(vault: Vault) -> TokenMaterial:
    token = secrets.token_urlsafe(32)
    return TokenMaterial(vault.blind_index(token), vault.encrypt(token), token)


def install_token(instance: Instance, material: TokenMaterial) -> None:
    """Give an instance that has no token yet its first one."""
    instance.webhook_token_index = material.index
    instance.webhook_token_ciphertext = material.ciphertext


def rotate(instance: Instance, material: TokenMaterial) -> bool:
    """Make ``material`` the current token, the current one the previous (until Sales confirms the
    new one). False for an instance that has no token yet (provisioning makes its first)."""
    if instance.webhook_token_index is None:
        return False
    instance.previous_webhook_token_index = instance.webhook_token_index
    instance.previous_webhook_token_until = None  # until Sales confirms the new subscription
    install_token(instance, material)
    return True


def confirm(instance: Instance, now: datetime) -> None:
    """Sales confirmed a subscription with the current token: the previous one has ``GRACE`` left."""
    if instance.previous_webhook_token_index is not None and instance.previous_webhook_token_until is None:
        instance.previous_webhook_token_until = now + GRACE
