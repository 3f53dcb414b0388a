"""Small trend charts drawn as SVG on the server: pictures, no JavaScript, no external assets.

Every label and tooltip is escaped (error codes and names come from records); the result is
:class:`markupsafe.Markup` so a template inserts it as is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 240, 58
TOP, BOTTOM, LEFT = 12, 12, 2  # room for the max label above and the date range below

STATUS_COLOURS = {"success": "#2e7d32", "no_change": "#9ccc65", "warning": "#f9a825", "failure": "#c62828",
                  "running": "#7e57c2", "preview": "#42a5f5"}
STATUS_ORDER = ["failure", "warning", "success", "no_change", "running", "preview"]
KIND_COLOURS = {"failure": "#c62828", "warning": "#f9a825", "write": "#2e7d32", "neutral": "#b0bec5"}
KIND_ORDER = ["failure", "warning", "write", "neutral"]
KIND_LABELS = {"failure": "failed", "warning": "warnings", "write": "written", "neutral": "unchanged"}
CODE_PALETTE = ["#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457"]
OTHER_COLOUR = "#78909c"
TOP_CODES = len(CODE_PALETTE)
DRAWN_KEPT = 2048  # cards' charts kept drawn (a dashboard of 200 cards is 5 MB of SVG; most cards do not change
# between two views a minute apart)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _frame(title: str, summary: str, body: str, days: Sequence[date], peak: str) -> Markup:
    first, last = (days[0], days[-1]) if days else (None, None)
    span = f"{first:%d %b} – {last:%d %b}" if first and last else ""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}: {escape(summary)}">'
        f"<title>{escape(title)}: {escape(summary)}</title>"
        f'<text x="{LEFT}" y="9" class="chart-label">{escape(title)}</text>'
        f'<text x="{WIDTH - 2}" y="9" class="chart-label" text-anchor="end">{escape(peak)}</text>'
        f"{body}"
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" class="chart-axis"/>'
        f'<text x="{LEFT}" y="{HEIGHT - 2}" class="chart-label">{escape(span)}</text>'
        "</svg>"
    )


def _empty(title: str, days: Sequence[date], what: str) -> Markup:
    body = (f'<text x="{WIDTH / 2}" y="{(HEIGHT - BOTTOM + TOP) / 2 + 3}" text-anchor="middle" '
            f'class="chart-empty">{escape(what)}</text>')
    return _frame(title, what, body, days, "")


def stacked_bars(title: str, days: Sequence[date], series: dict[str, list[int]], *, colours: dict[str, str],
                 order: Sequence[str], labels: dict[str, str] | None = None, unit: str = "") -> Markup:
    """One bar per day, stacked by series (``order`` bottom up; unknown series after, in gray)."""
    labels = labels or {}
    names = [n for n in order if n in series] + sorted(n for n in series if n not in order)
    totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    peak = max(totals, default=0)
    if peak <= 0:
        return _empty(title, days, "nothing in 30 days")
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bar = max(slot - 1.5, 1.0)
    parts: list[str] = []
    for i, day in enumerate(days):
        if not totals[i]:
            continue
        x, y = LEFT + i * slot, float(HEIGHT - BOTTOM)
        tip = ", ".join(f"{series[n][i]:,} {labels.get(n, n)}" for n in names if series[n][i])
        parts.append(f"<g><title>{escape(f'{day:%a %d %b}: {tip}')}</title>")
        for name in names:
            value = series[name][i]
            if not value:
                continue
            height = max(value / peak * plot_height, 0.8)
            y -= height
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                         f'fill="{escape(colours.get(name, OTHER_COLOUR))}"/>')
        parts.append("</g>")
    total = sum(totals)
    summary = f"{total:,}{unit} in {len(days)} days; busiest day {peak:,}{unit}"
    return _frame(title, summary, "".join(parts), days, f"max {_number(peak)}{unit}/day")


def line(title: str, days: Sequence[date], values: Sequence[float | None], *, unit: str = " s") -> Markup:
    """A line through the days that have a value, a dot on each."""
    present = [v for v in values if v is not None]
    if not present:
        return _empty(title, days, "no runs in 30 days")
    peak = max(present) or 1.0
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(days), 1)
    points: list[tuple[float, float, date, float]] = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        if value is None:
            continue
        points.append((LEFT + i * slot + slot / 2, HEIGHT - BOTTOM - value / peak * plot_height, day, value))
    path = " ".join(f"{'M' if n == 0 else 'L'}{x:.1f},{y:.1f}" for n, (x, y, _, _) in enumerate(points))
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" class="chart-dot">'
                   f"<title>{escape(f'{day:%a %d %b}: {_number(v)}{unit}')}</title></circle>"
                   for x, y, day, v in points)
    mean = sum(present) / len(present)
    summary = f"mean {_number(mean)}{unit}, longest day {_number(peak)}{unit}"
    return _frame(title, summary, f'<path d="{path}" class="chart-line"/>{dots}', days, f"max {_number(peak)}{unit}")


def runs_chart(days: Sequence[date], runs: dict[str, list[int]], labels: dict[str, str]) -> Markup:
    return stacked_bars("runs", days, runs, colours=STATUS_COLOURS, order=STATUS_ORDER, labels=labels)


def items_chart(days: Sequence[date], items: dict[str, list[int]]) -> Markup:
    return stacked_bars("items", days, items, colours=KIND_COLOURS, order=KIND_ORDER, labels=KIND_LABELS)


def errors_chart(days: Sequence[date], errors: dict[str, list[int]]) -> Markup:
    """The most frequent codes in colours of their own, the rest together as "other"."""
    ranked = sorted(errors, key=lambda code: (-sum(errors[code]), code))
    shown = {code: errors[code] for code in ranked[:TOP_CODES]}
    rest = ranked[TOP_CODES:]
    if rest:
        shown["other codes"] = [sum(errors[code][i] for code in rest) for i in range(len(days))]
    colours = {code: CODE_PALETTE[n] for n, code in enumerate(ranked[:TOP_CODES])}
    return stacked_bars("errors by code", days, shown, colours=colours, order=list(shown))


def duration_chart(days: Sequence[date], duration: Sequence[float | None]) -> Markup:
    return line("duration (mean per day)", days, duration)


def errors_legend(errors: dict[str, list[int]]) -> list[tuple[str, str, int]]:
    """(code, colour, total) of the codes :func:`errors_chart` colours, most frequent first."""
    ranked = sorted(errors, key=lambda code: (-sum(errors[code]), code))
    legend = [(code, CODE_PALETTE[n], sum(errors[code])) for n, code in enumerate(ranked[:TOP_CODES])]
    rest = sum(sum(errors[code]) for code in ranked[TOP_CODES:])
    return legend + ([("other codes", OTHER_COLOUR, rest)] if rest else [])


_drawn: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
_drawn_lock = threading.Lock()


def card_charts(trend: Any, labels: dict[str, str]) -> Markup:
    """A card's four charts and the errors' legend, drawn once per distinct trend (``ui.trends.Trend``):
    the same numbers draw the same pictures, so an unchanged card costs a lookup."""
    key = (tuple(trend.days), _frozen(trend.runs), _frozen(trend.items), _frozen(trend.errors),
           tuple(trend.duration), tuple(sorted(labels.items())))
    with _drawn_lock:
        found = _drawn.get(key)
        if found is not None:
            _drawn.move_to_end(key)
            return found
    legend = "".join(f'<li><svg class="swatch" viewBox="0 0 8 8" width="8" height="8"><rect width="8" height="8" '
                     f'fill="{escape(colour)}"/></svg> {escape(code)} ({total})</li>'
                     for code, colour, total in errors_legend(trend.errors))
    drawn = Markup("").join([runs_chart(trend.days, trend.runs, labels), items_chart(trend.days, trend.items),
                             errors_chart(trend.days, trend.errors),
                             Markup(f'<ul class="legend">{legend}</ul>') if legend else Markup(""),
                             duration_chart(trend.days, trend.duration)])
    with _drawn_lock:
        _drawn[key] = drawn
        while len(_drawn) > DRAWN_KEPT:
            _drawn.popitem(last=False)
    return drawn


def _frozen(series: dict[str, list[int]]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple(sorted((name, tuple(values)) for name, values in series.items()))
