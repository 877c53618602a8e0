"""What the App offers Sales: the toolbar buttons and reports its pages register.

The manifest is built from this registry and nothing else, so it can only
declare pages the app actually serves: a page enters it by being defined
with ``@dialog`` or ``@report`` (see ``extension_points``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class ExtensionRegistry:
    """The points defined so far, in definition order."""

    _points: dict[tuple[str, str], ExtensionPoint] = field(default_factory=dict)

    def register(self, point: ExtensionPoint) -> ExtensionPoint:
        """Add a page; the same definition twice is harmless, two pages under one key are a bug."""
        existing = self._points.get((point.kind, point.key))
        if existing is not None and existing != point:
            raise ValueError(f"{point.kind} {point.key!r} is registered twice")
        self._points[(point.kind, point.key)] = point
        return point

    def registered(self, kind: str) -> list[ExtensionPoint]:
        return [point for point in self._points.values() if point.kind == kind]


# The app's own pages register here (tests may build registries of their own).
extension_points = ExtensionRegistry()


def register(point: ExtensionPoint) -> ExtensionPoint:
    return extension_points.register(point)


def registered(kind: str) -> list[ExtensionPoint]:
    return extension_points.registered(kind)
