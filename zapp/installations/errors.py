"""What finding or using an installation can fail with, in the domain's words.

Services raise these; the lifecycle, pages and webhook blueprints map each
to their own HTTP answer (a lifecycle 404 names the API key, a webhook 404
the address, a page shows "not installed for this group").
"""

from __future__ import annotations


class InstallationError(Exception):
    """Base of the installation's refusals; the text is for logs, never shown as is."""


class InstallationNotFound(InstallationError):
    """No live installation matches: unknown, deleted, or found by a key since refreshed."""


class InstallationDisabled(InstallationError):
    """The installation exists but the account disabled the App."""


class GroupNotCovered(InstallationError):
    """The installation does not cover the Sales group asked for (re-provisioned, or another account's)."""


class KeyUnreadable(InstallationError):
    """The stored key cannot be decrypted with the configured encryption keys."""
