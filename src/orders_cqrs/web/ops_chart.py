"""The ops page's chart of orders and declines, drawn on the server as SVG.

No chart library and no CDN: a page that ops open during an incident must not depend on a
third party, and the console's Content-Security-Policy admits our own origin only. Colours
come from classes in ops.css (inline ``style`` attributes would be blocked by that policy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 28, 36


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1), for a readable axis."""
    if value <= 1:
        return 1
    power: int = 10 ** (len(str(value)) - 1)  # integer arithmetic: no float rounding at 10ⁿ
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _label(moment: datetime, step_seconds: int) -> str:
    return moment.strftime("%b %d" if step_seconds >= 86_400 else "%H:%M")


def orders_chart(
    times: Sequence[datetime],
    placed: Sequence[int],
    declined: Sequence[int],
    *,
    step_seconds: int,
) -> Markup:
    """Orders placed and payments declined per bucket, as paired bars with axes and a legend."""
    count = max(len(times), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max([*placed, *declined, 0]))
    slot = plot_w / count
    bar = max(slot * 0.4, 0.8)
    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        ' aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Orders placed and payments declined</title>',
        f'<desc id="chart-desc">{sum(placed)} orders placed and {sum(declined)} payments'
        f" declined in {len(times)} buckets of {step_seconds // 60} minutes.</desc>",
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    every = max(1, math.ceil(count / 8))
    for index, moment in enumerate(times):
        x = LEFT + index * slot
        for offset, value, kind, word in (
            (slot * 0.1, placed[index], "bar-orders", "orders placed"),
            (slot * 0.1 + bar, declined[index], "bar-declines", "declined"),
        ):
            if value:
                height = plot_h * value / top
                parts.append(
                    f'<rect class="{kind}" x="{x + offset:.1f}" y="{TOP + plot_h - height:.1f}"'
                    f' width="{bar:.1f}" height="{height:.1f}">'
                    f"<title>{escape(_label(moment, step_seconds))}: {value} {word}</title></rect>"
                )
        if index % every == 0:
            parts.append(
                f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 18}"'
                f' text-anchor="middle">{escape(_label(moment, step_seconds))}</text>'
            )
    parts.append(
        f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}"'
        f' y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    legend_x = WIDTH - RIGHT - 250
    parts.append(
        f'<rect class="bar-orders" x="{legend_x}" y="8" width="12" height="12"/>'
        f'<text class="legend" x="{legend_x + 18}" y="18">orders placed</text>'
        f'<rect class="bar-declines" x="{legend_x + 130}" y="8" width="12" height="12"/>'
        f'<text class="legend" x="{legend_x + 148}" y="18">payments declined</text>'
        f'<text class="axis" x="{LEFT}" y="18">UTC</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only
