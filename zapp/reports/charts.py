"""Charts as inline SVG made on the server: readable without script, nothing loaded from elsewhere.

Every piece of text (labels come from Sales: agent and source names) goes
through ``markupsafe.escape``; the markup around it is ours alone, which is
why the result may be a ``Markup``. Each chart is an image with a title and a
description listing its figures, and each bar carries its own ``<title>``.
Colours come from classes in the pages' stylesheet (the CSP allows no inline
styles).
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

from .tables import Chart

WIDTH = 640
BAR_HEIGHT, BAR_GAP = 18, 6
LABEL_WIDTH, VALUE_WIDTH = 190, 70
COLUMN_HEIGHT, AXIS_HEIGHT = 160, 22
LABEL_CHARS = 28
DESCRIBED_BARS = 40


def render_chart(chart: Chart, title: str, number: Callable[[int], str]) -> Markup:
    """``title`` is already localized; ``number`` formats a count in the viewer's locale."""
    body = _columns(chart, number) if chart.kind == "columns" else _bars(chart, number)
    height = _height(chart)
    ident = f"chart-{escape(chart.key)}"
    # Every interpolated text above and below went through escape(); the tags are ours.
    return Markup(  # noqa: S704
        f'<svg class="chart chart-{escape(chart.kind)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{_description(chart, number)}</desc>{body}</svg>'
    )


def _height(chart: Chart) -> int:
    if chart.kind == "columns":
        return COLUMN_HEIGHT + AXIS_HEIGHT
    return max(1, len(chart.bars)) * (BAR_HEIGHT + BAR_GAP)


def _description(chart: Chart, number: Callable[[int], str]) -> Markup:
    parts = [f"{label}: {number(value)}" for label, value in chart.bars[:DESCRIBED_BARS]]
    if len(chart.bars) > DESCRIBED_BARS:
        parts.append("…")
    return escape("; ".join(parts))


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _bars(chart: Chart, number: Callable[[int], str]) -> str:
    top = max((value for _, value in chart.bars), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    rows = []
    for index, (label, value) in enumerate(chart.bars):
        y = index * (BAR_HEIGHT + BAR_GAP)
        width = round(span * value / top, 1)
        middle = y + BAR_HEIGHT * 0.75
        rows.append(
            f"<g><title>{escape(label)}: {escape(number(value))}</title>"
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}"/>'
            f'<text class="chart-value" x="{LABEL_WIDTH + width + 6}" y="{middle}">'
            f"{escape(number(value))}</text></g>"
        )
    return "".join(rows)


def _columns(chart: Chart, number: Callable[[int], str]) -> str:
    count = max(1, len(chart.bars))
    top = max((value for _, value in chart.bars), default=0) or 1
    step = WIDTH / count
    every = max(1, count // 8)  # at most about eight axis labels
    parts = []
    for index, (label, value) in enumerate(chart.bars):
        height = round(COLUMN_HEIGHT * value / top, 1)
        x = round(index * step, 1)
        parts.append(
            f"<g><title>{escape(label)}: {escape(number(value))}</title>"
            f'<rect class="chart-bar" x="{x}" y="{round(COLUMN_HEIGHT - height, 1)}" '
            f'width="{round(max(step - 2, 1), 1)}" height="{height}"/></g>'
        )
        if index % every == 0:
            parts.append(
                f'<text class="chart-axis" x="{x}" y="{COLUMN_HEIGHT + AXIS_HEIGHT - 6}">'
                f"{escape(_short(label))}</text>"
            )
    return "".join(parts)
