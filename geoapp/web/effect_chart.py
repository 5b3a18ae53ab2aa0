"""The chart of a measure's effect: offences per month, before and after the start, as SVG.

SVG drawn on the server, so the chart needs no script, prints in the minutes and in the
PDF exactly as on screen, and its text is escaped like any other text of the page.
Lines: the target area, the buffer ring around it, and (dashed) what the target would
have had if it had followed the rest of the community; a vertical rule marks the start.
"""

from __future__ import annotations

from datetime import date

from flask_babel import format_date
from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 250
LEFT, RIGHT, TOP, BOTTOM = 44, 36, 14, 50
COLOURS = {"target": "#b91c1c", "buffer": "#d97706", "expected": "#6b7280"}


def chart_svg(
    months: list[date],
    series: dict[str, list[int]],
    expected: list[float | None],
    start: date,
    labels: dict[str, str],
) -> Markup:
    """An inline SVG; `labels` names "target", "buffer", "expected", "start" and "title"."""
    if not months:
        return Markup("")
    values = [*series["target"], *series["buffer"], *(v for v in expected if v is not None)]
    top = max(max(values, default=0), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(months) - 1, 1)

    def x(k: float) -> float:
        return round(LEFT + k * step, 1)

    def y(v: float) -> float:
        return round(TOP + plot_h * (1 - v / top), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="effect-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-label="{escape(labels["title"])}">',
        f'<line x1="{LEFT}" y1="{y(0)}" x2="{WIDTH - RIGHT}" y2="{y(0)}" stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{y(top) + 4}" text-anchor="end" font-size="11">{top:g}</text>',
        f'<text x="{LEFT - 6}" y="{y(0) + 4}" text-anchor="end" font-size="11">0</text>',
    ]
    first_after = date(start.year, start.month, 1)
    k0 = next((k for k, m in enumerate(months) if m >= first_after), len(months) - 1)
    parts.append(f'<line x1="{x(k0)}" y1="{TOP}" x2="{x(k0)}" y2="{y(0)}" stroke="#111" '
                 f'stroke-dasharray="2 3"/><text x="{x(k0) + 4}" y="{TOP + 10}" font-size="11">'
                 f'{escape(labels["start"])}</text>')  # fmt: skip
    for name, points, dash in (("expected", expected, "6 4"), ("buffer", series["buffer"], ""),
                               ("target", series["target"], "")):  # fmt: skip
        coords = " ".join(f"{x(k)},{y(v)}" for k, v in enumerate(points) if v is not None)
        if coords:
            parts.append(f'<polyline fill="none" stroke="{COLOURS[name]}" stroke-width="2.5" '
                         f'stroke-dasharray="{dash or "none"}" points="{coords}"/>')  # fmt: skip
    every = -(-len(months) // 7)  # at most seven month labels
    for k, month in enumerate(months):
        if k % every == 0:
            parts.append(
                f'<text x="{x(k)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11">{escape(format_date(month, "LLL yy"))}</text>'
            )
    for n, name in enumerate(("target", "buffer", "expected")):
        lx = LEFT + n * 180
        dashed = ' stroke-dasharray="6 4"' if name == "expected" else ""
        parts.append(f'<line x1="{lx}" y1="{HEIGHT - 10}" x2="{lx + 22}" y2="{HEIGHT - 10}" '
                     f'stroke="{COLOURS[name]}" stroke-width="3"{dashed}/>'
                     f'<text x="{lx + 28}" y="{HEIGHT - 6}" font-size="11">'
                     f'{escape(labels[name])}</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))
