"""Toolbar dialogs: each module defines one with ``@dialog``, which also puts it in the manifest."""

from . import handoff, messages, timeline

__all__ = ["handoff", "messages", "timeline"]
