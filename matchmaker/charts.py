"""Charts drawn on the server as inline SVG: no script, no inline style (the CSP forbids both), readable on a phone.

Each chart is narrow by design (a 360-unit wide viewBox, labels above their bars), so that on a phone its text
stays at about its nominal size; CSS caps its width on wide screens. Colours come with a second cue (markers
and dashes for lines, a legend in reading order for stacks), and each chart carries a title and a description
for assistive technology; the page puts the same figures in a data table next to it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 360
FONT = 12
CHAR = 6.4          # average width of a character at FONT, to wrap labels
LABEL_LINES = 2
PALETTE = ("#0b5394", "#b35900", "#1e6b34", "#a11d1d", "#6a3d9a", "#00727a", "#7a4b00", "#444444", "#b0306a")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
MARKERS = ("circle", "square", "triangle", "diamond")
HIDDEN_FILL = "#8a96a3"


def _wrap(text: str, width: float = WIDTH - 8) -> list[str]:
    """The label in at most LABEL_LINES lines that fit ``width``; the last one ends with an ellipsis if cut."""
    limit = max(8, int(width // CHAR))
    lines, line = [], ""
    for word in str(text).split():
        candidate = f"{line} {word}".strip()
        if len(candidate) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word[:limit]
    if line:
        lines.append(line)
    if len(lines) > LABEL_LINES:
        lines = lines[:LABEL_LINES]
        lines[-1] = lines[-1][:limit - 1].rstrip() + "…"
    return lines or [""]


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _open(height: float, title: str, description: str, css: str) -> tuple[str, str]:
    # Ids from what the chart says, not from a counter: the same page renders byte for byte the same (an edition
    # of the public report must not change between readings), and a page's charts have different titles.
    n = hashlib.sha256(f"{css}|{height}|{title}|{description}".encode()).hexdigest()[:10]
    head = (f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height:g}" width="{WIDTH}" height="{height:g}" '
            f'role="img" aria-labelledby="chart-{n}-t chart-{n}-d" xmlns="http://www.w3.org/2000/svg" '
            f'font-size="{FONT}">'
            f'<title id="chart-{n}-t">{escape(title)}</title><desc id="chart-{n}-d">{escape(description)}</desc>')
    return head, "</svg>"


def _legend(series: Sequence[str], y: float, lines: bool = False) -> tuple[str, float]:
    """Swatches (or line samples) with their labels, one per line, in the order they are drawn."""
    parts = []
    for i, label in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        if lines:
            parts.append(f'<line x1="4" x2="28" y1="{y + 6:g}" y2="{y + 6:g}" stroke="{colour}" stroke-width="2"'
                         + (f' stroke-dasharray="{DASHES[i % len(DASHES)]}"' if DASHES[i % len(DASHES)] else "")
                         + "/>" + _marker(MARKERS[i % len(MARKERS)], 16, y + 6, colour))
            x = 34
        else:
            parts.append(f'<rect x="4" y="{y:g}" width="12" height="12" fill="{colour}"/>')
            x = 22
        parts.append(f'<text x="{x}" y="{y + 10:g}">{escape(label)}</text>')
        y += 16
    return "".join(parts), y


BAR_H = 12


def _largest(items: Sequence[tuple[str, Sequence[float | None]]], stacked: bool,
             totals: Sequence[float | None] | None) -> float:
    """The longest bar (or stack, or published total): the chart's scale."""
    largest = 0.0
    for _, values in items:
        shown = [v for v in values if v is not None]
        largest = max(largest, sum(shown) if stacked else max(shown or [0]))
    if stacked and totals is not None:
        largest = max([largest] + [t for t in totals if t is not None])
    return largest or 1


def _stack(values: Sequence[float | None], total: float | None, y: float, scale: float, hidden_mark: str) -> str:
    """One stacked bar: a segment per published value, the suppressed ones together in grey, then the total."""
    parts, x = [], 4.0
    for i, value in enumerate(values):
        if value:
            w = value * scale
            parts.append(f'<rect x="{x:.1f}" y="{y:g}" width="{w:.1f}" height="{BAR_H}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}" stroke="#fff" stroke-width="1"/>')
            x += w
    hidden = (total or 0) - sum(v for v in values if v is not None)
    if total is not None and hidden > 0:
        parts.append(f'<rect x="{x:.1f}" y="{y:g}" width="{hidden * scale:.1f}" height="{BAR_H}" '
                     f'fill="{HIDDEN_FILL}" stroke="#fff" stroke-width="1"/>')
        x += hidden * scale
    text = hidden_mark if total is None else _number(total)
    if total is not None and any(v is None for v in values):
        text += f" ({hidden_mark})"
    parts.append(f'<text x="{x + 4:.1f}" y="{y + 10:g}">{escape(text)}</text>')
    return "".join(parts)


def _group(values: Sequence[float | None], y: float, scale: float, hidden_mark: str) -> tuple[str, float]:
    """One bar per series, each with its value (the mark where it is suppressed); returns the bars and the next y."""
    parts = []
    for i, value in enumerate(values):
        w = (value or 0) * scale
        if w:
            parts.append(f'<rect x="4" y="{y:g}" width="{w:.1f}" height="{BAR_H}" fill="{PALETTE[i % len(PALETTE)]}"/>')
        text = hidden_mark if value is None else _number(value)
        parts.append(f'<text x="{4 + w + 4:.1f}" y="{y + 10:g}">{escape(text)}</text>')
        y += BAR_H + 2
    return "".join(parts), y + 8


def bars(title: str, description: str, items: Sequence[tuple[str, Sequence[float | None]]],
         series: Sequence[str], stacked: bool = False, hidden_mark: str = "‡",
         totals: Sequence[float | None] | None = None, hidden_label: str = "") -> Markup:
    """Horizontal bars, one group per item: grouped (one bar per series) or stacked (one bar, a segment per
    series, then the item's total from ``totals`` when given). ``None`` is a suppressed value: no bar (or
    segment), the mark instead; in a stack with a published total, the suppressed segments show together as one
    grey segment (their sum is the total less the published segments, so it tells nothing new)."""
    label_room = 40  # right of the longest bar: the value
    scale = (WIDTH - 8 - label_room) / _largest(items, stacked, totals)
    body, y = [], 4.0
    rest = stacked and totals is not None and any(v is None for _, values in items for v in values)
    if len(series) > 1 or rest:
        legend, y = _legend(list(series), y)
        body.append(legend)
        if rest:
            body.append(f'<rect x="4" y="{y:g}" width="12" height="12" fill="{HIDDEN_FILL}"/>'
                        f'<text x="22" y="{y + 10:g}">{escape(hidden_mark)} {escape(hidden_label)}</text>')
            y += 16
        y += 4
    for index, (label, values) in enumerate(items):
        for line in _wrap(label):
            body.append(f'<text x="4" y="{y + FONT:g}">{escape(line)}</text>')
            y += FONT + 3
        y += 2
        if stacked:
            total = sum(v for v in values if v is not None) if totals is None else totals[index]
            body.append(_stack(values, total, y, scale, hidden_mark))
            y += BAR_H + 8
        else:
            group, y = _group(values, y, scale, hidden_mark)
            body.append(group)
    head, tail = _open(y + 4, title, description, "bars")
    # Reviewed: every text in the chart went through escape() above; the rest are numbers and fixed attributes.
    return Markup(head + "".join(body) + tail)  # noqa: S704  # nosec B704


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    if kind == "triangle":
        return (f'<path d="M{x:.1f} {y - 3.5:.1f}L{x + 3.5:.1f} {y + 3:.1f}L{x - 3.5:.1f} {y + 3:.1f}Z" '
                f'fill="{colour}"/>')
    return (f'<path d="M{x:.1f} {y - 4:.1f}L{x + 4:.1f} {y:.1f}L{x:.1f} {y + 4:.1f}L{x - 4:.1f} {y:.1f}Z" '
            f'fill="{colour}"/>')


def _runs(values: Sequence[float | None], x, y) -> list[list[str]]:
    """The points of each unbroken stretch of a series (a suppressed value breaks the line)."""
    runs: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(f"{x(i):.1f},{y(value):.1f}")
    return [run for run in runs if run]


def lines(title: str, description: str, periods: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
          axis_every: int | None = None) -> Markup:
    """One line per series over the periods; a suppressed value (None) breaks the line."""
    legend, top = _legend([label for label, _ in series], 4.0, lines=True)
    plot_top, plot_h, left, right = top + 8, 160.0, 40.0, WIDTH - 12
    largest = max([v for _, values in series for v in values if v is not None] or [0]) or 1
    n = max(len(periods), 1)
    step = (right - left) / max(n - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else (right - left) / 2)

    def y(v: float) -> float:
        return plot_top + plot_h - v / largest * plot_h

    body = [legend]
    ticks = (0, largest // 2, largest) if largest >= 2 else (0, largest)
    for tick in ticks:
        body.append(f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#c9d1d9"/>'
                    f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{escape(_number(tick))}</text>')
    every = axis_every or max(1, -(-n // 6))
    base = plot_top + plot_h
    for i, period in enumerate(periods):
        if i % every == 0 or i == n - 1:
            body.append(f'<text x="{x(i):.1f}" y="{base + 16:.1f}" text-anchor="middle">{escape(period)}</text>')
    for s, (_label, values) in enumerate(series):
        colour, dash = PALETTE[s % len(PALETTE)], DASHES[s % len(DASHES)]
        body += [_marker(MARKERS[s % len(MARKERS)], x(i), y(v), colour) for i, v in enumerate(values) if v is not None]
        for points in _runs(values, x, y):
            if len(points) > 1:
                body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"'
                            + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
    head, tail = _open(base + 24, title, description, "lines")
    # Reviewed: every text in the chart went through escape() above; the rest are numbers and fixed attributes.
    return Markup(head + "".join(body) + tail)  # noqa: S704  # nosec B704
