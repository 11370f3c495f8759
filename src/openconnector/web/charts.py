"""Grouped bar charts as plain geometry for an inline SVG (no JS chart library).

The dashboard's statistics come as ``{"YYYY-MM-DD": {"success": 3, "error": 1}}``;
:func:`bar_chart` turns that into rectangles with coordinates, so the template
only draws ``<rect>`` elements, and a data table beside it says the same for
screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 36
PAD_BOTTOM = 28
PAD_TOP = 10


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    value: int
    day: str


@dataclass
class Chart:
    series: list[str]
    days: list[str]
    rows: list[dict[str, int]]
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, int]] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    peak: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - PAD_BOTTOM


def bar_chart(daily: dict[str, Any], series: list[str]) -> Chart:
    """Bars for each day (oldest first) and each series, scaled to the highest value."""
    days = sorted(daily)
    rows = [{name: _int((daily.get(day) or {}).get(name)) for name in series} for day in days]
    peak = max([v for row in rows for v in row.values()] + [0])
    chart = Chart(series=series, days=days, rows=rows, peak=peak)
    if not days:
        return chart
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = _nice_step(peak)
    scale_top = step * 4
    group = plot_w / len(days)
    bar_w = max(2.0, (group * 0.8) / len(series))
    for i, (day, row) in enumerate(zip(days, rows, strict=True)):
        left = PAD_LEFT + i * group + group * 0.1
        for j, name in enumerate(series):
            value = row[name]
            h = plot_h * value / scale_top
            chart.bars.append(
                Bar(
                    x=round(left + j * bar_w, 1),
                    y=round(PAD_TOP + plot_h - h, 1),
                    width=round(bar_w - 1, 1),
                    height=round(h, 1),
                    series=name,
                    value=value,
                    day=day,
                )
            )
        chart.labels.append((round(PAD_LEFT + i * group + group / 2, 1), day[5:]))
    for k in range(0, 5):
        chart.ticks.append((round(PAD_TOP + plot_h - plot_h * k / 4, 1), step * k))
    return chart


def _nice_step(peak: int) -> int:
    """A whole tick step (1, 2, 2.5 or 5 times a power of ten) so four steps cover ``peak``."""
    raw = max(peak, 1) / 4
    if raw <= 5:
        return math.ceil(raw)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
