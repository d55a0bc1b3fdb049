"""The report's charts, drawn on the server as PNG with matplotlib's Agg renderer.

Readable printed in black and white: greys and hatches, never colour alone, and the values
written on single-series bars; the numbers are also in the table that follows each chart.
matplotlib is imported here, on the first chart drawn, never when the app starts: a back-office
worker that never builds a report does not pay its import time or memory.
"""

from __future__ import annotations

import io
from typing import Any

from web.report.content import Bars

GREYS = ("#ffffff", "#bdbdbd", "#7a7a7a", "#3d3d3d")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "oo", "++", "||", "**")
WIDTH_IN = 6.3  # 16 cm: the text width of an A4 page with 2.5 cm margins
DPI = 120  # sharp enough printed at 16 cm; each chart costs less to draw and to embed


def style(n: int) -> tuple[str, str]:
    """The fill grey and hatch of the n-th series: 40 distinct pairs before one repeats."""
    return GREYS[n % len(GREYS)], HATCHES[(n // len(GREYS) + n) % len(HATCHES)]


def render(bars: Bars) -> bytes:
    """The chart as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    rows = len(bars.categories)
    height = max(1.6, 0.38 * rows + 1.0) if bars.horizontal else 3.6
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    # Margins computed from the labels rather than by `tight_layout` or `bbox_inches`, each
    # of which draws the whole figure once more.
    if bars.horizontal:
        longest = max((len(_short(c)) for c in bars.categories), default=4)
        _horizontal(
            figure,
            bars,
            left=min(0.5, 0.04 + 0.0105 * longest),
            right=0.95,
            bottom=0.25 / height,
            top=1 - 0.25 / height,
        )
    else:
        axes = figure.add_subplot()
        longest = max((len(_short(name)) for name, _ in bars.series), default=4)
        figure.subplots_adjust(left=0.09, right=max(0.45, 0.86 - 0.0105 * longest), bottom=0.22)
        _stacked(axes, bars)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    canvas.draw()  # type: ignore[no-untyped-call]
    # Greys only: an 8-bit grey PNG is a quarter of the RGBA one matplotlib would write, faster
    # to encode here and for fpdf2 to embed, and the same to the eye.
    width, height_px = canvas.get_width_height()
    rgba = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    image = Image.frombuffer("RGBA", (width, height_px), rgba).convert("L")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3, dpi=(DPI, DPI))
    return out.getvalue()


def _horizontal(
    figure: Any, bars: Bars, *, left: float, right: float, bottom: float, top: float
) -> None:
    """One series, one bar per category, its shown value written beside it ("< 5" alone).

    Drawn straight on the figure (rectangles, texts and the left line, in figure fractions)
    rather than in an `Axes`: an Axes builds and draws two axes of ticks the chart does not
    show, which was most of each chart's cost (the report draws one per question)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    _, values = bars.series[0]
    widths = [v or 0.0 for v in values]
    # The same geometry as `barh`: bars 0.8 of a row, the longest at 1/1.15 of the width.
    scale = (right - left) / ((max(widths, default=0.0) or 1.0) * 1.15)
    row = (top - bottom) / max(1, len(bars.categories))
    for n, (category, width) in enumerate(zip(bars.categories, widths, strict=True)):
        middle = top - row * (n + 0.5)  # the first category on top
        # One series: a plain mid grey reads in black and white; hatches tell series apart.
        figure.patches.append(
            Rectangle(
                (left, middle - row * 0.4),
                width * scale,
                row * 0.8,
                transform=figure.transFigure,
                facecolor="#9a9a9a",
                edgecolor="black",
                linewidth=0.6,
            )
        )
        figure.text(left - 0.012, middle, _short(category), ha="right", va="center", fontsize=8)
    for n, label in enumerate(bars.labels[: len(widths)]):
        middle = top - row * (n + 0.5)
        x = left + widths[n] * scale + (right - left) / 1.15 * 0.01
        figure.text(x, middle, label, va="center", fontsize=8)
    # The values are written on the bars: no scale to read; the left line stands for the axis.
    figure.lines.append(
        Line2D([left, left], [bottom, top], transform=figure.transFigure, color="black", lw=0.8)
    )


def _stacked(axes: Any, bars: Bars) -> None:
    """Several series stacked per category, each with its grey and hatch, and a legend."""
    positions = list(range(len(bars.categories)))
    bottom = [0.0] * len(positions)
    for n, (name, values) in enumerate(bars.series):
        heights = [v or 0.0 for v in values]
        fill, hatch = style(n)
        axes.bar(
            positions,
            heights,
            bottom=bottom,
            color=fill,
            edgecolor="black",
            hatch=hatch,
            linewidth=0.6,
            label=_short(name),
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_xticks(positions, bars.categories, fontsize=7, rotation=45, ha="right")
    axes.set_ylabel(bars.unit.capitalize(), fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
