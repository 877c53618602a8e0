"""What the App offers Sales: the toolbar buttons and reports its pages register.

The manifest is built from this registry and nothing else, so it can only
declare pages the app actually serves: a page enters it by being defined
with ``@dialog`` or ``@report`` (see ``extension_points``).
"""

from __future__ import annotations

from dataclasses import dataclass

BUTTON = "button"
REPORT = "report"


@dataclass(frozen=True)
class ExtensionPoint:
    """One button or report: ``name`` is an English message id, ``query`` holds Sales' placeholders."""

    kind: str
    key: str
    name: str
    path: str
    query: str
    icon: str | None = None

    @property
    def purpose(self) -> str:
        """What a context token minted by this page is good for, e.g. ``"dialog:timeline"``."""
        return f"{'dialog' if self.kind == BUTTON else 'report'}:{self.key}"


_POINTS: dict[tuple[str, str], ExtensionPoint] = {}


def register(point: ExtensionPoint) -> ExtensionPoint:
    """Add a page to the manifest; a second page under the same key is a programming error."""
    existing = _POINTS.get((point.kind, point.key))
    if existing is not None and existing != point:
        raise ValueError(f"{point.kind} {point.key!r} is registered twice")
    _POINTS[(point.kind, point.key)] = point
    return point


def registered(kind: str) -> list[ExtensionPoint]:
    """The registered points of one kind, in the order they were defined."""
    return [point for point in _POINTS.values() if point.kind == kind]
