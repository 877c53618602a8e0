"""Webhooks from Sales: receive and store (``views``, ``inbox``); handlers run as jobs (``processing``)."""

from .views import bp

__all__ = ["bp"]
