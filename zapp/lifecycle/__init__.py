"""The App lifecycle Sales drives: install, settings, enable/disable, key refresh, delete."""

from .views import bp

__all__ = ["bp"]
