"""Toolbar dialogs: each module defines one with ``@dialog``, which also puts it in the manifest."""

from . import timeline

__all__ = ["timeline"]
