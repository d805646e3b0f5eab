"""Server-rendered SVG line charts for the console: dates along, one figure up, no JavaScript, no library.

Pure Python (standard library only): points in, an escaped SVG string out. The SVG scales to its
container (viewBox, no fixed size), names itself for screen readers (role="img", <title>, <desc>),
and breaks the line where a day has no figure rather than drawing through the gap. Pages should
also print the numbers in a table: a chart is a picture of them, not a replacement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

# viewBox units: drawn about 300 to 450 px wide (a phone, a half-width column), 13-unit text stays readable.
WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 62, 12, 12, 30  # room for the y labels on the left and the dates below
TICKS = 4


@dataclass(frozen=True, slots=True)
class Point:
    on: date
    value: float | None  # None: no figure that day (e.g. a rate with nothing to divide by)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value` (1 for nothing to show)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power  # pragma: no cover: the loop always returns


def day_label(on: date) -> str:
    return f"{on.day} {on:%b %Y}"


def _x(on: date, first: date, last: date) -> float:
    span = (last - first).days
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner / 2 if span == 0 else inner * (on - first).days / span)


def _y(value: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - value / top)


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Runs of consecutive points that have a value: the line stops at a gap and starts again after it."""
    runs: list[list[Point]] = [[]]
    for point in points:
        if point.value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _axes(first: date, last: date, top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = _y(value, top)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    days = [first] if first == last else [first, first + (last - first) / 2, last]
    anchors = ["middle"] if first == last else ["start", "middle", "end"]
    for on, anchor in zip(days, anchors, strict=True):
        x = _x(on, first, last)
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 19}" text-anchor="{anchor}">'
            f"{escape(day_label(on))}</text>"
        )
    return parts


def _lines(runs: list[list[Point]], first: date, last: date, top: float) -> list[str]:
    parts = []
    for run in runs:
        coords = [(_x(p.on, first, last), _y(p.value or 0.0, top)) for p in run]
        if len(coords) == 1:
            x, y = coords[0]
            parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
            continue
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f} {y:.1f}" for i, (x, y) in enumerate(coords))
        parts.append(f'<path class="line" d="{path}"/>')
    if runs:
        end = runs[-1][-1]
        x, y = _x(end.on, first, last), _y(end.value or 0.0, top)
        parts.append(f'<circle class="dot last" cx="{x:.1f}" cy="{y:.1f}" r="4"/>')
    return parts


def describe(points: Sequence[Point], fmt: Callable[[float], str]) -> str:
    """The chart in one sentence, for screen readers: the period, the first and last figures, the highest."""
    known = [p for p in points if p.value is not None]
    if not known:
        return "No figures in this period."
    high = max(known, key=lambda p: p.value or 0.0)
    return (
        f"From {day_label(known[0].on)} to {day_label(known[-1].on)}: "
        f"{fmt(known[0].value or 0.0)} at the start, {fmt(known[-1].value or 0.0)} at the end, "
        f"highest {fmt(high.value or 0.0)} on {day_label(high.on)}."
    )


def line_chart(points: Sequence[Point], *, title: str, chart_id: str, fmt: Callable[[float], str]) -> str:
    """An SVG line chart of `points` (sorted by date), the y axis from 0 to a round number above the highest value."""
    points = sorted(points, key=lambda p: p.on)
    label = f"{escape(chart_id)}-title {escape(chart_id)}-desc"
    head = (
        f'<svg class="line-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{label}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(describe(points, fmt))}</desc>'
    )
    known = [p.value for p in points if p.value is not None]
    if not known:
        empty = f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No figures yet</text>'
        return head + empty + "</svg>"
    top = nice_ceiling(max(known))
    first, last = points[0].on, points[-1].on
    body = _axes(first, last, top, fmt) + _lines(_segments(points), first, last, top)
    return head + "".join(body) + "</svg>"
