"""What Sales frames: toolbar dialogs, reports, and the manifest that declares them.

- ``signed_urls``: the ``signature`` check, on the raw request target.
- ``instances``: the installation a page belongs to, from its ``group``.
- ``context``: short-lived tokens for a page's follow-up calls; ``require_context``.
- ``extension_points``: ``@dialog`` / ``@report`` define, check and declare a page.
- ``headers``, ``rendering``: framing policy, CSP nonce, localized templates.
- ``reports``: the manager reports (figures from ``zapp.reports``) and their CSV downloads.
- ``manifest``: ``/manifest.json`` and ``zapp manifest``, built from the registry.
"""

from . import dialogs, manifest, reports
from .blueprint import bp

__all__ = ["bp", "dialogs", "manifest", "reports"]
