"""Inline SVG charts for the catalogue (`docs`) and `report --format html`: drawn here, no chart
library, nothing fetched. Each function returns one `<svg>` element as markup-safe text; every
label is escaped. Numbers print as people read them (`number`, `percent`), shared with report's text."""
from __future__ import annotations

from typing import Optional, Sequence

from markupsafe import Markup, escape

BLUE, GRID, INK, MUTED = "#2f6fbd", "#e3e3e3", "#222", "#777"


def number(n: Optional[float]) -> str:
    """12345 -> "12,345"; None -> "" (unknown)."""
    if n is None:
        return ""
    return f"{int(n):,}" if n == int(n) else f"{float(n):,.2f}"


def percent(share: Optional[float], digits: int = 1) -> str:
    """0.1029 -> "10.3%"; None -> "" (no denominator)."""
    return "" if share is None else f"{share * 100:.{digits}f}%"


def size_chart(points: Sequence[tuple[str, int]], title: str, width: int = 420, height: int = 150) -> Markup:
    """Members per run, in run order: a line with a dot per run (hover: the run's date and size)."""
    left, right, top, bottom = 48, 10, 20, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v in points]
    high = max(values, default=0) or 1
    xs = [left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2) for i in range(len(points))]
    ys = [top + plot_h * (1 - v / high) for v in values]
    parts = [f'<svg class="chart size-chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):  # gridlines with their values
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="{MUTED}">'
                     f'{escape(number(round(high * fraction)))}</text>')
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    for (label, v), x, y in zip(points, xs, ys):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BLUE}">'
                     f'<title>{escape(label)}: {escape(number(v))} members</title></circle>')
    if points:
        parts.append(f'<text x="{left}" y="{height - 8}" font-size="10" fill="{MUTED}">{escape(points[0][0])}</text>')
        if len(points) > 1:
            parts.append(f'<text x="{width - right}" y="{height - 8}" font-size="10" text-anchor="end" '
                         f'fill="{MUTED}">{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def overlap_heatmap(names: Sequence[str], sizes: dict[str, int], shared: dict[tuple[str, str], int],
                    cell: int = 26) -> Markup:
    """Rows and columns are segments; a cell is the share of the row's members who are also in the
    column's segment (darker: more), the count and share on hover. `shared` holds each pair once."""
    label_w = max((len(n) for n in names), default=0) * 6.5 + 12
    top = label_w  # column labels are written vertically
    width, height = label_w + cell * len(names) + 4, top + cell * len(names) + 4
    parts = [f'<svg class="chart overlap-heatmap" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>Overlap between segments: share of the row segment also in the column segment</title>']
    for j, name in enumerate(names):
        x = label_w + cell * j + cell / 2 + 4
        parts.append(f'<text transform="translate({x:.1f},{top - 6:.1f}) rotate(-90)" font-size="11" '
                     f'fill="{INK}">{escape(name)}</text>')
    for i, row in enumerate(names):
        y = top + cell * i
        parts.append(f'<text x="{label_w - 6:.1f}" y="{y + cell / 2 + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="{INK}">{escape(row)}</text>')
        for j, column in enumerate(names):
            count = sizes.get(row, 0) if row == column else shared.get((row, column), shared.get((column, row), 0))
            share = count / sizes[row] if sizes.get(row) else None
            shade = 0.06 + 0.94 * share if share is not None else 0
            parts.append(f'<rect x="{label_w + cell * j:.1f}" y="{y:.1f}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="{BLUE}" fill-opacity="{shade:.3f}" stroke="{GRID}">'
                         f'<title>{escape(row)} and {escape(column)}: {escape(number(count))} people '
                         f'({escape(percent(share) or "no members")} of {escape(row)})</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def lift_chart(rows: Sequence[dict], width: int = 420) -> Markup:
    """Each split group's lift against control with its 95% interval, on one axis around zero."""
    rows = [r for r in rows if r.get("lift") is not None]
    bar, left, right = 24, 110, 20
    height = 30 + bar * len(rows)
    bound = max([abs(r["lift_low"]) for r in rows] + [abs(r["lift_high"]) for r in rows] + [0.01])
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * (v + bound) / (2 * bound)

    parts = [f'<svg class="chart lift-chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>Lift against control, 95% interval</title>',
             f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="4" y2="{height - 20}" stroke="{MUTED}"/>',
             f'<text x="{x(0):.1f}" y="{height - 6}" font-size="10" text-anchor="middle" fill="{MUTED}">0</text>']
    for i, r in enumerate(rows):
        y = 10 + bar * i + bar / 2
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{INK}">'
                     f'{escape(r["split"])}</text>'
                     f'<line x1="{x(r["lift_low"]):.1f}" x2="{x(r["lift_high"]):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{BLUE}" stroke-width="3"/>'
                     f'<circle cx="{x(r["lift"]):.1f}" cy="{y:.1f}" r="4" fill="{BLUE}"><title>{escape(r["split"])}: '
                     f'{escape(points(r["lift"]))} [{escape(points(r["lift_low"]))}, {escape(points(r["lift_high"]))}]'
                     f'</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def points(diff: Optional[float]) -> str:
    """A difference of two shares in percentage points: 0.052 -> "+5.2 pp"."""
    return "" if diff is None else f"{diff * 100:+.1f} pp"
