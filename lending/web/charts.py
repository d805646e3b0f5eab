"""Server-rendered SVG charts: figures in, accessible SVG text out. Pure Python, no Django.

Each chart is one `<svg role="img">` named by its `<title>` and described by its `<desc>` (a sentence
with the total and the largest figure), with axis titles, tick labels and a `<title>` on every bar
for a pointer's tooltip; the page prints the same rows as a table next to it, for screen readers,
print and anyone who would rather read numbers. Text is escaped here because the page inserts the
SVG as markup. Sizes are in viewBox units: the SVG scales to its box, so a 360-unit-wide chart keeps
12-unit text readable from a phone (about 10 px at 320 px wide) to a desktop column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

Format = Callable[[int], str]

WIDTH = 360
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
INK, MUTED, GRID, BAR = "#1d2b22", "#4d5c52", "#dfe6e1", "#2c7a3f"
# Okabe-Ito's colour-blind-safe palette (yellow left out: too pale on white), for categories without a colour.
CHAR = 6.8  # the width of a digit at font-size 12, in viewBox units: to leave room for labels
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#7a7a7a")


@dataclass(frozen=True, slots=True)
class Point:
    """One figure: a short axis label ("Mar"), its value (minor units or a count), a long name ("March 2026")."""

    label: str
    value: int
    name: str = ""
    color: str = ""
    sub: str = ""  # a second line under a column's label (the year under January)

    @property
    def full_name(self) -> str:
        return self.name or self.label


@dataclass(frozen=True, slots=True)
class Chart:
    slug: str  # unique on the page: the ids of <title> and <desc> derive from it
    title: str
    description: str
    svg: str
    rows: list[tuple[str, str]]  # the table fallback: (name, formatted value)
    empty: bool  # nothing to draw: every value is zero


def nice_ceiling(value: int, ticks: int = 4) -> tuple[int, int]:
    """(top, step): a round axis top at or above `value`, in at most `ticks` whole steps of 1, 2, 2.5 or 5 x 10^n."""
    if value <= 0:
        return ticks, 1
    raw = value / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(
        int(f * magnitude)
        for f in (1, 2, 2.5, 5, 10, 20)
        if f * magnitude >= raw and f * magnitude == int(f * magnitude)
    )
    return step * math.ceil(value / step), step


def describe(title: str, points: Sequence[Point], fmt: Format, noun: str) -> str:
    """One sentence for <desc> and the caption: the total over how many `noun`, and the largest and where."""
    if not any(p.value for p in points):
        return f"{title}: nothing to show yet."
    top = max(points, key=lambda p: p.value)
    total = sum(p.value for p in points)
    return f"{title}: {fmt(total)} in all over {len(points)} {noun}; the largest is {top.full_name}, {fmt(top.value)}."


def _open(slug: str, title: str, description: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{slug}-title {slug}-desc" {FONT} font-size="12">'
        f'<title id="{slug}-title">{escape(title)}</title><desc id="{slug}-desc">{escape(description)}</desc>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", color: str = MUTED, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}"{extra}>{escape(text)}</text>'


def _empty_note(x: float, y: float) -> str:
    return _text(x, y, "Nothing to show yet", anchor="middle", color=INK)


def column_chart(
    *,
    slug: str,
    title: str,
    points: Sequence[Point],
    fmt: Format,
    axis_fmt: Format,
    x_title: str,
    y_title: str,
    noun: str = "months",
) -> Chart:
    """Vertical bars over time (months): a y axis of round ticks, a label under each bar."""
    height, left, right, top, bottom = 260, 58, 8, 12, 58
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak, step = nice_ceiling(max([p.value for p in points] or [0]))
    description = describe(title, points, fmt, noun)
    parts = [_open(slug, title, description, height)]
    for tick in range(0, peak + 1, step):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, axis_fmt(tick), anchor="end"))
    slot = plot_w / max(len(points), 1)
    for n, p in enumerate(points):
        h = plot_h * p.value / peak
        x = left + n * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{p.color or BAR}"><title>{escape(p.full_name)}: {escape(fmt(p.value))}</title></rect>'
        )
        parts.append(_text(x + slot * 0.35, top + plot_h + 15, p.label, anchor="middle"))
        if p.sub:
            parts.append(_text(x + slot * 0.35, top + plot_h + 29, p.sub, anchor="middle"))
    parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    parts.append(_text(left + plot_w / 2, height - 8, x_title, anchor="middle", color=INK))
    mid = top + plot_h / 2
    parts.append(_text(14, mid, y_title, anchor="middle", color=INK, extra=f' transform="rotate(-90 14 {mid:.1f})"'))
    empty = not any(p.value for p in points)
    if empty:
        parts.append(_empty_note(left + plot_w / 2, top + plot_h / 2))
    parts.append("</svg>")
    rows = [(p.full_name, fmt(p.value)) for p in points]
    return Chart(slug, title, description, "".join(parts), rows, empty)


def bar_chart(
    *, slug: str, title: str, points: Sequence[Point], fmt: Format, axis_fmt: Format, x_title: str, noun: str
) -> Chart:
    """Horizontal bars for categories (sectors, countries): the name on the left, the value at the bar's end."""
    row, left, top = 26, 112, 8
    right = 12 + CHAR * max([len(fmt(p.value)) for p in points] or [4])  # room for the longest value label
    height = top + row * max(len(points), 1) + 44
    plot_w = WIDTH - left - right
    peak, step = nice_ceiling(max([p.value for p in points] or [0]))
    description = describe(title, points, fmt, noun)
    parts = [_open(slug, title, description, height)]
    base = top + row * max(len(points), 1)
    for tick in range(0, peak + 1, step):
        x = left + plot_w * tick / peak
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{base}" stroke="{GRID}"/>')
        parts.append(_text(x, base + 14, axis_fmt(tick), anchor="middle"))
    for n, p in enumerate(points):
        y, w = top + n * row, plot_w * p.value / peak
        color = p.color or BAR  # one colour: the bars' lengths carry the meaning, not their hues
        parts.append(
            f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" fill="{color}">'
            f"<title>{escape(p.full_name)}: {escape(fmt(p.value))}</title></rect>"
        )
        parts.append(_text(left - 6, y + row / 2 + 4, _clip(p.label, 16), anchor="end", color=INK))
        parts.append(_text(left + w + 4, y + row / 2 + 4, fmt(p.value)))
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="{MUTED}"/>')
    parts.append(_text(left + plot_w / 2, height - 6, x_title, anchor="middle", color=INK))
    empty = not any(p.value for p in points)
    if empty:
        parts.append(_empty_note(left + plot_w / 2, top + row / 2 + 4))
    parts.append("</svg>")
    rows = [(p.full_name, fmt(p.value)) for p in points]
    return Chart(slug, title, description, "".join(parts), rows, empty)


def donut_chart(*, slug: str, title: str, points: Sequence[Point], fmt: Format, centre: str, noun: str) -> Chart:
    """Shares of a whole (loans by status): a ring of arcs, each with its tooltip, and a legend with percents."""
    height, cx, cy, radius, thickness = 200, 96, 100, 68, 30
    shown = [p for p in points if p.value > 0]
    total = sum(p.value for p in shown)
    description = describe(title, points, fmt, noun)
    parts = [_open(slug, title, description, height)]
    circumference = 2 * math.pi * radius
    parts.append(f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{GRID}" stroke-width="{thickness}"/>')
    offset = 0.0
    for n, p in enumerate(shown):
        length = circumference * p.value / total
        color = p.color or PALETTE[n % len(PALETTE)]
        parts.append(
            f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{color}" stroke-width="{thickness}" '
            f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
            f'transform="rotate(-90 {cx} {cy})"><title>{escape(p.full_name)}: {escape(fmt(p.value))} '
            f"({_percent(p.value, total)})</title></circle>"
        )
        offset += length
    parts.append(_text(cx, cy + 5, centre, anchor="middle", color=INK, extra=' font-size="15" font-weight="600"'))
    for n, p in enumerate(shown):
        y = 24 + n * 22
        color = p.color or PALETTE[n % len(PALETTE)]
        parts.append(f'<rect x="196" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        parts.append(_text(214, y, f"{_clip(p.full_name, 18)} {_percent(p.value, total)}", color=INK))
    if not shown:
        parts.append(_text(196, cy + 4, "Nothing to show yet", color=INK))
    parts.append("</svg>")
    rows = [(p.full_name, f"{fmt(p.value)} ({_percent(p.value, total)})") for p in shown]
    return Chart(slug, title, description, "".join(parts), rows, not shown)


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "0%"
    share = 100 * part / whole
    return f"{share:.0f}%" if share >= 1 or share == 0 else "<1%"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
