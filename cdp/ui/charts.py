"""Charts as SVG written here, in Python: no JavaScript library, nothing fetched by the browser.

Two shapes cover the pages: a line of values over nights (segment sizes, merges per night) and
horizontal bars (breakdowns, cluster sizes). Each returns markup for a Jinja `|safe` insert;
every text that comes from the data is escaped.
"""

from __future__ import annotations

from html import escape


def line_chart(points: list[tuple[str, float]], *, width: int = 560, height: int = 160, label: str = "") -> str:
    """Values over time, with the first and last dates and the last value written on it."""
    if not points:
        return _empty(width, height, "no history yet: sizes are recorded by each nightly run")
    pad_left, pad_right, pad_y = 44, 16, 20
    values = [value for _, value in points]
    low, high = min(0.0, min(values)), max(values) or 1.0
    inner_w, inner_h = width - pad_left - pad_right, height - 2 * pad_y

    def x(index: int) -> float:
        return pad_left + (inner_w * index / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    def y(value: float) -> float:
        return pad_y + inner_h - (value - low) / ((high - low) or 1.0) * inner_h

    path = " ".join(f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3"><title>{escape(str(d))}: {v:g}</title></circle>'
        for i, (d, v) in enumerate(points)
    )
    return (
        f'<svg class="chart line" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f'<line class="axis" x1="{pad_left}" y1="{pad_y + inner_h}" x2="{width - pad_right}" y2="{pad_y + inner_h}"/>'
        f'<text class="tick" x="{pad_left - 6}" y="{y(high) + 4:.1f}" text-anchor="end">{high:g}</text>'
        f'<text class="tick" x="{pad_left - 6}" y="{y(low) + 4:.1f}" text-anchor="end">{low:g}</text>'
        f'<path class="series" d="{path}"/>{dots}'
        f'<text class="tick" x="{pad_left}" y="{height - 4}">{escape(str(points[0][0]))}</text>'
        f'<text class="tick" x="{width - pad_right}" y="{height - 4}" text-anchor="end">{escape(str(points[-1][0]))}</text>'
        "</svg>"
    )


def sparkline(values: list[float], *, width: int = 120, height: int = 28) -> str:
    """A small trend for a table cell."""
    if len(values) < 2:
        return f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="one night so far"></svg>'
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 4) / (len(values) - 1)
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{2 + i * step:.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="trend" xmlns="http://www.w3.org/2000/svg"><path class="series" d="{path}"/></svg>'
    )


def bar_chart(rows: list[tuple[str, float]], *, width: int = 420, bar: int = 18, label: str = "") -> str:
    """Horizontal bars, one per (label, value), the value written at the end of each."""
    if not rows:
        return _empty(width, 40, "nothing to show")
    label_w, value_w = 150, 50
    high = max(value for _, value in rows) or 1
    inner = width - label_w - value_w
    height = len(rows) * (bar + 6) + 6
    parts = []
    for index, (name, value) in enumerate(rows):
        top = 6 + index * (bar + 6)
        length = max(1.0, inner * value / high)
        parts.append(
            f'<text class="tick" x="{label_w - 6}" y="{top + bar - 5}" text-anchor="end">{escape(str(name))[:24]}</text>'
            f'<rect class="bar" x="{label_w}" y="{top}" width="{length:.1f}" height="{bar}"><title>{escape(str(name))}: {value:g}</title></rect>'
            f'<text class="tick" x="{label_w + length + 4:.1f}" y="{top + bar - 5}">{value:g}</text>'
        )
    return (
        f'<svg class="chart bars" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _empty(width: int, height: int, text: str) -> str:
    return (
        f'<svg class="chart empty" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg"><text class="tick" x="8" y="{height / 2:.0f}">{escape(text)}</text></svg>'
    )
