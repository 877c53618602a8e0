"""Toolbar button icons: 64x64 PNGs drawn in code, committed under ``static/icons``.

Sales wants each button's icon as a data URI (a 64x64 PNG is recommended).
The icons are drawn here with a tiny PNG encoder (zlib and struct), so they
need no design tool nor download; ``python -m zapp.pages.icons`` redraws the
files, and a test checks the committed files still match the drawings.
"""

from __future__ import annotations

import base64
import math
import os
import struct
import zlib
from collections.abc import Callable
from functools import cache

from ..assets import STATIC_DIR

SIZE = 64
ICONS_DIR = os.path.join(STATIC_DIR, "icons")
_SUPERSAMPLE = 4
Color = tuple[int, int, int]
Shape = Callable[[float, float], bool]

ACCENT: Color = (47, 111, 237)  # zapp.css --accent
WHITE: Color = (255, 255, 255)


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """A truecolour-with-alpha PNG (8 bits per channel, no interlace) of ``rgba`` rows."""
    stride = width * 4
    if len(rgba) != stride * height:
        raise ValueError("rgba must hold width * height * 4 bytes")
    scanlines = b"".join(b"\x00" + rgba[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(scanlines, 9)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def draw(layers: list[tuple[Shape, Color]], size: int = SIZE) -> bytes:
    """RGBA pixels of ``layers`` (shape, colour) painted in order, anti-aliased by supersampling."""
    pixels = bytearray()
    samples = _SUPERSAMPLE * _SUPERSAMPLE
    for y in range(size):
        for x in range(size):
            pixels += _pixel(layers, x, y, samples)
    return bytes(pixels)


def _pixel(layers: list[tuple[Shape, Color]], x: int, y: int, samples: int) -> bytes:
    corners = {_top(layers, x + dx, y + dy) for dx in (0.01, 0.99) for dy in (0.01, 0.99)}
    if len(corners) == 1:  # the shapes are larger than a pixel: same at every corner, same inside
        color = corners.pop()
        return b"\x00\x00\x00\x00" if color is None else bytes((*color, 255))
    red = green = blue = alpha = 0.0
    for sy in range(_SUPERSAMPLE):
        for sx in range(_SUPERSAMPLE):
            color = _top(layers, x + (sx + 0.5) / _SUPERSAMPLE, y + (sy + 0.5) / _SUPERSAMPLE)
            if color is not None:
                red, green, blue, alpha = red + color[0], green + color[1], blue + color[2], alpha + 1
    if not alpha:
        return b"\x00\x00\x00\x00"
    return bytes(
        (round(red / alpha), round(green / alpha), round(blue / alpha), round(255 * alpha / samples))
    )


def _top(layers: list[tuple[Shape, Color]], x: float, y: float) -> Color | None:
    return next((color for shape, color in reversed(layers) if shape(x, y)), None)


def rounded_square(inset: float, radius: float, size: int = SIZE) -> Shape:
    low, high = inset + radius, size - inset - radius

    def inside(x: float, y: float) -> bool:
        dx, dy = max(low - x, 0.0, x - high), max(low - y, 0.0, y - high)
        return math.hypot(dx, dy) <= radius and inset <= x <= size - inset and inset <= y <= size - inset

    return inside


def circle(cx: float, cy: float, radius: float) -> Shape:
    return lambda x, y: math.hypot(x - cx, y - cy) <= radius


def bar(x0: float, y0: float, x1: float, y1: float) -> Shape:
    """A rectangle with round ends along its longer side."""
    radius = min(x1 - x0, y1 - y0) / 2

    def inside(x: float, y: float) -> bool:
        cx, cy = min(max(x, x0 + radius), x1 - radius), min(max(y, y0 + radius), y1 - radius)
        return math.hypot(x - cx, y - cy) <= radius

    return inside


def timeline_icon() -> bytes:
    """A blue tile with a white timeline: a spine, three stops and a line of text beside each."""
    layers: list[tuple[Shape, Color]] = [(rounded_square(2, 12), ACCENT), (bar(19, 14, 23, 50), WHITE)]
    for cy in (17, 32, 47):
        layers += [(circle(21, cy, 5.5), WHITE), (bar(30, cy - 2.5, 50 if cy != 32 else 44, cy + 2.5), WHITE)]
    return draw(layers)


def rounded_rect(x0: float, y0: float, x1: float, y1: float, radius: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        dx = max(x0 + radius - x, 0.0, x - (x1 - radius))
        dy = max(y0 + radius - y, 0.0, y - (y1 - radius))
        return x0 <= x <= x1 and y0 <= y <= y1 and math.hypot(dx, dy) <= radius

    return inside


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    def side(p: tuple[float, float], q: tuple[float, float], x: float, y: float) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    def inside(x: float, y: float) -> bool:
        signs = (side(a, b, x, y), side(b, c, x, y), side(c, a, x, y))
        return all(value >= 0 for value in signs) or all(value <= 0 for value in signs)

    return inside


def messages_icon() -> bytes:
    """A blue tile with a white speech bubble holding two lines of text."""
    layers: list[tuple[Shape, Color]] = [
        (rounded_square(2, 12), ACCENT),
        (rounded_rect(12, 14, 52, 42, 7), WHITE),
        (triangle((18, 40), (30, 40), (16, 52)), WHITE),
        (bar(19, 22, 45, 26), ACCENT),
        (bar(19, 30, 37, 34), ACCENT),
    ]
    return draw(layers)


def handoff_icon() -> bytes:
    """A blue tile with a white arrow passing from one person (a dot) to the right."""
    layers: list[tuple[Shape, Color]] = [
        (rounded_square(2, 12), ACCENT),
        (circle(17, 32, 6), WHITE),
        (bar(26, 29, 44, 35), WHITE),
        (triangle((40, 21), (52, 32), (40, 43)), WHITE),
    ]
    return draw(layers)


DRAWINGS: dict[str, Callable[[], bytes]] = {
    "timeline.png": timeline_icon,
    "messages.png": messages_icon,
    "handoff.png": handoff_icon,
}


@cache
def icon_data_uri(name: str) -> str:
    """The committed icon ``name`` as a ``data:image/png;base64,...`` URI (read once per process)."""
    if name not in DRAWINGS:
        raise KeyError(f"no icon named {name!r}")
    with open(os.path.join(ICONS_DIR, name), "rb") as handle:
        return "data:image/png;base64," + base64.b64encode(handle.read()).decode("ascii")


def write_icons(folder: str = ICONS_DIR) -> list[str]:
    """Redraw every icon into ``folder``; returns the paths written."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for name, drawing in DRAWINGS.items():
        path = os.path.join(folder, name)
        with open(path, "wb") as handle:
            handle.write(encode_png(SIZE, SIZE, drawing()))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_icons():
        print(written_path)
