"""Horizontal bar charts laid out in Python and drawn as inline SVG by a template.

No JavaScript and nothing from a CDN: ``stacked_bars`` turns rows of numbers into
rectangles with coordinates (as strings ready for SVG attributes); the template
``teamsettings/_bar_chart.html`` draws them with a title and a description, and the page
shows the same numbers in a table, which is the chart's text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 150
VALUE_WIDTH = 70
ROW_HEIGHT = 28
BAR_HEIGHT = 16
TOP = 8
AXIS_HEIGHT = 24
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH


def _n(value: float) -> str:
    """A coordinate for an SVG attribute: one decimal, never a locale's comma."""
    return f"{value:.1f}"


def _shown(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (1 for nothing to show)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = float(step * 10**exponent)
        if candidate >= value:
            return candidate
    return float(10 ** (exponent + 1))  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class Segment:
    name: str
    css: str
    value: float
    shown: str
    x: str
    width: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: str
    bar_y: str
    text_y: str
    segments: list[Segment]
    total: float
    text: str
    text_x: str


@dataclass(frozen=True)
class Tick:
    x: str
    label: str


@dataclass(frozen=True)
class BarChart:
    chart_id: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    legend: list[tuple[str, str]]
    ticks: list[Tick]
    plot_left: str
    label_x: str
    axis_y: str
    plot_top: str
    plot_bottom: str
    marker_x: str | None
    marker_label: str
    unit: str

    @property
    def n_bars(self) -> int:
        return len(self.bars)


def stacked_bars(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[tuple[str, str]],
    unit: str = "",
    marker: float | None = None,
    marker_label: str = "",
    empty_text: str = "no data",
) -> BarChart:
    """One bar per row, one segment per series (zero and missing values draw nothing)."""
    totals = [sum(v or 0 for v in values) for _, values in rows]
    scale_max = nice_ceiling(max([*totals, marker or 0, 0]))
    plot_bottom = TOP + ROW_HEIGHT * len(rows)
    bars = []
    for index, ((label, values), total) in enumerate(zip(rows, totals, strict=True)):
        top = TOP + index * ROW_HEIGHT
        bar_top = top + (ROW_HEIGHT - BAR_HEIGHT) / 2
        x = float(LABEL_WIDTH)
        segments = []
        for (name, css), value in zip(series, values, strict=True):
            if not value:
                continue
            width = PLOT_WIDTH * value / scale_max
            segments.append(Segment(name, css, value, _shown(value), _n(x), _n(width)))
            x += width
        has_value = any(v is not None for v in values)
        text = f"{_shown(total)}{unit}" if has_value else empty_text
        bars.append(
            Bar(
                label=label,
                y=_n(top),
                bar_y=_n(bar_top),
                text_y=_n(bar_top + BAR_HEIGHT - 3),
                segments=segments,
                total=total,
                text=text,
                text_x=_n(x + 6),
            )
        )
    ticks = [
        Tick(_n(LABEL_WIDTH + PLOT_WIDTH * share), f"{_shown(scale_max * share)}{unit}")
        for share in (0.0, 0.5, 1.0)
    ]
    marker_x = None
    if marker is not None:
        marker_x = _n(LABEL_WIDTH + PLOT_WIDTH * marker / scale_max)
    return BarChart(
        chart_id=chart_id,
        title=title,
        description=description,
        width=WIDTH,
        height=plot_bottom + AXIS_HEIGHT,
        bars=bars,
        legend=list(series),
        ticks=ticks,
        plot_left=_n(LABEL_WIDTH),
        label_x=_n(LABEL_WIDTH - 8),
        axis_y=_n(plot_bottom + AXIS_HEIGHT - 6),
        plot_top=_n(TOP),
        plot_bottom=_n(plot_bottom),
        marker_x=marker_x,
        marker_label=marker_label,
        unit=unit,
    )
